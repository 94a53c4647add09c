"""numpy's OpenBLAS on one thread for the calling thread, where its own threads cost more
than they give: small matrices on a busy 2-core station, and matrix products between two
ONNX Runtime runs, whose threads the spinning OpenBLAS threads would slow down."""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["one_blas_thread"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's OpenBLAS on one thread for this thread while fitting: the matrices are small
    (hundreds of rows), and OpenBLAS threads cost far more than they give, above all on a
    busy 2-core station (measured: 6.3 ms per iteration instead of 0.2 with 500 cells
    while two other processes ran). Without OpenBLAS's thread-local switch, nothing."""
    setter = _blas_setter()
    if setter is None:
        yield
        return
    previous = int(setter(1))
    try:
        yield
    finally:
        setter(max(1, previous))


@functools.cache
def _blas_setter() -> Any:
    root = Path(np.__file__).resolve().parent
    candidates = [*root.parent.glob("numpy.libs/*openblas*"), *root.glob(".libs/*openblas*")]
    candidates += root.glob(".dylibs/*openblas*")
    for lib in candidates:
        try:
            handle = ctypes.CDLL(str(lib))
            setter = handle.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.restype = ctypes.c_int
        setter.argtypes = [ctypes.c_int]
        return setter
    return None
