"""The simulated smear kept on disk: built once, read back the same, rebuilt when the
file is damaged, and the simulator works without a writable folder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.smear_cache import cached_smear
from hemoscope.capture.smear_synth import synthesize_smear


def test_the_smear_is_kept_read_back_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    built = cached_smear(320, 256, 7, 40.0, tmp_path)
    files = list(tmp_path.glob("smear-*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    synthesize_smear.cache_clear()  # the next one must come from the disk
    start = time.perf_counter()
    again = cached_smear(320, 256, 7, 40.0, tmp_path)
    assert time.perf_counter() - start < 0.5
    assert np.array_equal(again, built) and not again.flags.writeable
    files[0].write_bytes(b"not an array")
    assert np.array_equal(cached_smear(320, 256, 7, 40.0, tmp_path), built)
    assert np.load(files[0]).shape == (256, 320, 3)  # written again


def test_the_simulator_uses_the_cache_and_survives_an_unwritable_one(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    for folder in (tmp_path / "cache", blocked):
        sim = SimulatedMicroscope(canvas=(640, 480), seed=4, cache_dir=folder)
        sim.open()
        assert sim.read().shape == (480, 640, 3)
        sim.close()
    assert list((tmp_path / "cache").glob("smear-*.npy"))
