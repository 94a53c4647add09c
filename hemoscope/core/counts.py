"""`Counts`: an immutable, hashable mapping of class id -> non-negative count."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["Counts"]


class Counts(Mapping[str, int]):
    """Immutable class id -> count mapping.

    Counts are integers >= 0. Zero entries are dropped, so ``Counts({"band": 0}) ==
    Counts()``: a count that went up and back down compares equal to one never touched.
    Missing keys read as 0 through :meth:`get_count` (``counts["x"]`` still raises
    ``KeyError`` like any mapping). Equality is order-insensitive and also holds against a
    plain ``dict`` with the same non-zero items.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        data: dict[str, int] = {}
        for key, value in pairs:
            if not isinstance(key, str) or not key:
                raise ValueError(f"count key must be a non-empty string, got {key!r}")
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"count for {key!r} must be an int, got {value!r}")
            if value < 0:
                raise ValueError(f"count for {key!r} must be >= 0, got {value}")
            total = data.get(key, 0) + value
            if total:
                data[key] = total
        self._items: dict[str, int] = dict(sorted(data.items()))

    def __getitem__(self, key: str) -> int:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Counts):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == {k: v for k, v in other.items() if v != 0}
        return NotImplemented

    def __repr__(self) -> str:
        return f"Counts({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Counts, (self._items,))

    def get_count(self, key: str) -> int:
        """The count for ``key``, 0 when absent."""
        return self._items.get(key, 0)

    def total(self) -> int:
        """Sum of all counts."""
        return sum(self._items.values())

    def add(self, key: str, delta: int = 1) -> Counts:
        """A new `Counts` with ``delta`` added to ``key``.

        Raises:
            ValueError: the result would be negative.
        """
        new = self.get_count(key) + delta
        if new < 0:
            raise ValueError(
                f"count for {key!r} cannot go below 0 ({self.get_count(key)} {delta:+d})"
            )
        data = dict(self._items)
        data[key] = new
        return Counts(data)

    def __add__(self, other: Mapping[str, int]) -> Counts:
        merged = dict(self._items)
        for key, value in other.items():
            merged[key] = merged.get(key, 0) + value
        return Counts(merged)

    def to_dict(self) -> dict[str, int]:
        """A plain ``dict`` copy (for JSON)."""
        return dict(self._items)
