"""ImageLoader: results by signal from its worker thread, failures, and shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import make_field

from hemoscope.capture.image_files import ImageReadError
from hemoscope.ui.images.image_loader import ImageLoader, LoadedImage

TIMEOUT_MS = 10_000


@pytest.fixture
def loader(qtbot: QtBot) -> ImageLoader:
    instance = ImageLoader()
    yield instance
    assert instance.shutdown()


def test_results_arrive_on_the_gui_thread(
    qtbot: QtBot, loader: ImageLoader, tmp_path: Path
) -> None:
    good = tmp_path / "good.png"
    make_field(good, 30, 20)
    missing = tmp_path / "missing.png"
    loaded: list[LoadedImage] = []
    threads: list[threading.Thread] = []

    def on_loaded(item: LoadedImage) -> None:
        loaded.append(item)
        threads.append(threading.current_thread())

    loader.image_loaded.connect(on_loaded)
    with qtbot.waitSignal(loader.batch_finished, timeout=TIMEOUT_MS) as finished:
        batch = loader.load([good, missing])
    assert finished.args[0] == batch
    [failure] = finished.args[1]
    assert (failure.path, failure.reason) == (missing, "file not found")
    assert [item.path for item in loaded] == [good]
    assert loaded[0].image.shape == (20, 30, 3)
    assert loaded[0].batch == batch
    assert threads == [threading.main_thread()]


def test_batches_are_numbered_and_run_in_order(
    qtbot: QtBot, loader: ImageLoader, tmp_path: Path
) -> None:
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for path in paths:
        make_field(path, 8, 8)
    seen: list[Path] = []
    loader.image_loaded.connect(lambda item: seen.append(item.path))
    first = loader.load(paths[:2])
    with qtbot.waitSignal(
        loader.batch_finished, timeout=TIMEOUT_MS, check_params_cb=lambda b, f: b == first + 1
    ):
        second = loader.load(paths[2:])
    assert second == first + 1
    assert seen == paths


def test_unexpected_reader_errors_become_failures(qtbot: QtBot) -> None:
    def broken(path: Path) -> np.ndarray:
        raise RuntimeError("boom")

    loader = ImageLoader(reader=broken)
    with qtbot.waitSignal(loader.batch_finished, timeout=TIMEOUT_MS) as finished:
        loader.load([Path("x.png")])
    assert finished.args[1][0].reason == "unexpected error: boom"
    assert loader.shutdown()


def test_synchronous_mode_emits_before_returning(tmp_path: Path) -> None:
    def reader(path: Path) -> np.ndarray:
        if path.name == "bad.png":
            raise ImageReadError(path, "nope")
        return np.zeros((2, 2, 3), np.uint8)

    loader = ImageLoader(reader=reader, synchronous=True)
    events: list[str] = []
    loader.image_loaded.connect(lambda item: events.append(f"loaded {item.path.name}"))
    loader.image_failed.connect(lambda batch, f: events.append(f"failed {f.path.name}"))
    loader.batch_finished.connect(lambda batch, failures: events.append(f"done {batch}"))
    loader.load([Path("a.png"), Path("bad.png")])
    assert events == ["loaded a.png", "failed bad.png", "done 1"]


def test_shutdown_abandons_the_rest_of_a_long_batch(qtbot: QtBot) -> None:
    started = threading.Event()

    def slow(path: Path) -> np.ndarray:
        started.set()
        time.sleep(0.02)  # a slow disk, on the worker thread
        return np.zeros((2, 2, 3), np.uint8)

    loader = ImageLoader(reader=slow)
    finished: list[int] = []
    loader.batch_finished.connect(lambda batch, failures: finished.append(batch))
    loader.load([Path(f"{i}.png") for i in range(500)])
    loader.load([Path("queued.png")])
    assert started.wait(5)
    t0 = time.monotonic()
    assert loader.shutdown()
    assert time.monotonic() - t0 < 2
    assert not loader.is_busy()
    qtbot.wait(50)  # let any queued signal arrive: none may
    assert finished == []
