"""A cell's classifier embedding, kept compactly: the pooled features the classifier's
linear head reads (192 numbers for the shipped model), stored as float16.

float16 keeps three significant digits, far finer than what a 2-D map or a distance
between cells needs, at 2 bytes a number (384 bytes a cell): a case of 1,000 white
cells carries 0.4 MB of embeddings, in memory and in the case database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Embedding", "stack_embeddings"]

_DTYPE = np.dtype("<f2")


@dataclass(frozen=True, slots=True)
class Embedding:
    """An embedding as little-endian float16 bytes (``data``); see `from_vector`."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or not self.data or len(self.data) % 2:
            raise ValueError("an embedding needs a non-empty float16 byte string")

    @classmethod
    def from_vector(cls, vector: npt.ArrayLike) -> Embedding:
        """From a 1-D vector of finite numbers (rounded to float16)."""
        v = np.asarray(vector, dtype=np.float64)
        if v.ndim != 1 or not len(v):
            raise ValueError(f"an embedding is a non-empty 1-D vector, got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("an embedding must be finite")
        return cls(v.astype(_DTYPE).tobytes())

    @property
    def dim(self) -> int:
        return len(self.data) // 2

    def vector(self) -> npt.NDArray[np.float32]:
        """The embedding as float32, shape (dim,)."""
        return np.frombuffer(self.data, dtype=_DTYPE).astype(np.float32)


def stack_embeddings(embeddings: list[Embedding]) -> npt.NDArray[np.float32]:
    """Embeddings of one dimension as rows of an (N, D) float32 array ((0, 0) for none)."""
    if not embeddings:
        return np.zeros((0, 0), np.float32)
    dims = {e.dim for e in embeddings}
    if len(dims) != 1:
        raise ValueError(f"embeddings of different dimensions: {sorted(dims)}")
    raw = b"".join(e.data for e in embeddings)
    return np.frombuffer(raw, dtype=_DTYPE).reshape(len(embeddings), -1).astype(np.float32)
