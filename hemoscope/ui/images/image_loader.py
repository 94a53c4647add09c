"""Read image files off the GUI thread and hand the results back by signal.

One `ImageLoader` owns one private thread pool with a single thread, so batches are read
one after the other, in the order asked, and at most one CPU core decodes images. Each
`load` call is a batch: folders in it are expanded (`list_images`), every file is read
with the reader (`read_image` by default), and for each file either `image_loaded` or
`image_failed` is emitted, then `batch_finished` once with the batch's failures.

`shutdown` (called by the main window when it closes) drops queued batches, asks the
running one to stop after its current file, and joins the pool's thread. With
``synchronous=True`` everything runs inside `load`, on the caller's thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from hemoscope.capture.image_files import ImageReadError, list_images, read_image
from hemoscope.ui.shared.errors import LoadFailure

__all__ = ["ImageLoader", "LoadedImage", "Reader"]

log = logging.getLogger(__name__)

Reader = Callable[[Path], npt.NDArray[np.uint8]]


@dataclass(frozen=True)
class LoadedImage:
    """An image read from `path` as an (H, W, 3) uint8 BGR array, in batch `batch`."""

    path: Path
    image: npt.NDArray[np.uint8]
    batch: int


class ImageLoader(QObject):
    """Reads image files in a worker thread; results arrive as signals on the GUI thread."""

    image_loaded = Signal(object)  # LoadedImage
    image_failed = Signal(int, object)  # batch, LoadFailure
    batch_finished = Signal(int, list)  # batch, list[LoadFailure]

    def __init__(
        self,
        *,
        reader: Reader = read_image,
        synchronous: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._synchronous = synchronous
        self._batches = itertools.count(1)
        self._stop = threading.Event()
        self._pool = QThreadPool(self)
        self._pool.setObjectName("hemoscope-load")  # the worker thread's name
        self._pool.setMaxThreadCount(1)

    def load(self, paths: Iterable[str | Path]) -> int:
        """Read `paths` (files or folders) in the background; return the batch number."""
        batch = next(self._batches)
        job = _LoadJob(self, batch, [Path(p) for p in paths])
        if self._synchronous:
            job.run()
        else:
            self._pool.start(job)
        return batch

    def is_busy(self) -> bool:
        """Whether a batch is being read or waits to be read."""
        return self._pool.activeThreadCount() > 0

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop reading and join the worker thread; False if it did not end in time."""
        self._stop.set()
        self._pool.clear()
        done = self._pool.waitForDone(timeout_ms)
        if not done:
            log.error("the image loader's thread did not stop within %d ms", timeout_ms)
        return done

    # Called by the job, on the worker thread.
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _read(self, path: Path) -> npt.NDArray[np.uint8]:
        return self._reader(path)


class _LoadJob(QRunnable):
    def __init__(self, loader: ImageLoader, batch: int, paths: Sequence[Path]) -> None:
        super().__init__()
        self._loader = loader
        self._batch = batch
        self._paths = paths

    def run(self) -> None:
        failures: list[LoadFailure] = []
        for path in self._paths:
            if self._loader._stopping():
                return
            for file in self._expand(path, failures):
                if self._loader._stopping():
                    return
                failure = self._read_one(file)
                if failure is not None:
                    failures.append(failure)
        self._loader.batch_finished.emit(self._batch, failures)

    def _expand(self, path: Path, failures: list[LoadFailure]) -> list[Path]:
        if not path.is_dir():
            return [path]
        files = list_images(path)
        if not files:
            failure = LoadFailure(path, "the folder holds no images (jpg, png, tif, bmp, webp)")
            failures.append(failure)
            self._loader.image_failed.emit(self._batch, failure)
        return files

    def _read_one(self, path: Path) -> LoadFailure | None:
        try:
            image = self._loader._read(path)
        except ImageReadError as error:
            failure = LoadFailure(path, error.reason)
        except Exception as error:  # a bug must not kill the worker silently
            log.exception("unexpected error while reading %s", path)
            failure = LoadFailure(path, f"unexpected error: {error}")
        else:
            self._loader.image_loaded.emit(LoadedImage(path, image, self._batch))
            return None
        self._loader.image_failed.emit(self._batch, failure)
        return failure
