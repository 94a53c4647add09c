"""Reference ranges for the differential, editable per laboratory."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["DEFAULT_REFERENCE", "Flag", "ReferenceRange", "ReferenceSet"]

Flag = Literal["H", "L"]


def _check(name: str, low: float | None, high: float | None, top: float) -> None:
    for label, v in (("low", low), ("high", high)):
        if v is not None and not (math.isfinite(v) and 0.0 <= v <= top):
            raise ValueError(f"{name} {label} must be in [0, {top:g}], got {v}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{name}: low ({low}) is above high ({high})")


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A relative range in % and, optionally, an absolute range in x10^9/L.

    Either bound of the absolute range may be ``None`` (open).
    """

    low: float
    high: float
    abs_low: float | None = None
    abs_high: float | None = None

    def __post_init__(self) -> None:
        _check("relative range", self.low, self.high, 100.0)
        _check("absolute range", self.abs_low, self.abs_high, math.inf)

    def flag(self, percent: float | None) -> Flag | None:
        """``"H"`` above, ``"L"`` below, ``None`` within (bounds inclusive) or unknown."""
        return _flag(percent, self.low, self.high)

    def flag_absolute(self, value: float | None) -> Flag | None:
        """Like :meth:`flag` for an absolute count; ``None`` without an absolute range."""
        return _flag(value, self.abs_low, self.abs_high)

    def to_dict(self) -> dict[str, float | None]:
        return {
            "low": self.low,
            "high": self.high,
            "abs_low": self.abs_low,
            "abs_high": self.abs_high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceRange:
        def opt(key: str) -> float | None:
            v = data.get(key)
            return None if v is None else float(v)

        return cls(float(data["low"]), float(data["high"]), opt("abs_low"), opt("abs_high"))


def _flag(value: float | None, low: float | None, high: float | None) -> Flag | None:
    if value is None:
        return None
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return None


@dataclass(frozen=True, slots=True)
class ReferenceSet:
    """A named set of ranges, class id -> range. Edits return new sets."""

    name: str
    ranges: Mapping[str, ReferenceRange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a reference set needs a name")
        for key, rng in self.ranges.items():
            if not isinstance(rng, ReferenceRange):
                raise TypeError(f"range for {key!r} must be a ReferenceRange")
        object.__setattr__(self, "ranges", MappingProxyType(dict(self.ranges)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReferenceSet):
            return NotImplemented
        return self.name == other.name and dict(self.ranges) == dict(other.ranges)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.ranges.items()))))

    def __iter__(self) -> Iterator[str]:
        return iter(self.ranges)

    def get(self, class_id: str) -> ReferenceRange | None:
        return self.ranges.get(class_id)

    def with_range(self, class_id: str, rng: ReferenceRange) -> ReferenceSet:
        """A copy with one range set (added or replaced)."""
        return ReferenceSet(self.name, {**self.ranges, class_id: rng})

    def without(self, class_id: str) -> ReferenceSet:
        """A copy with one range removed (no error when absent)."""
        return ReferenceSet(self.name, {k: v for k, v in self.ranges.items() if k != class_id})

    def renamed(self, name: str) -> ReferenceSet:
        return ReferenceSet(name, self.ranges)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON settings: ``{"name": ..., "ranges": {id: {...}}}``."""
        return {"name": self.name, "ranges": {k: v.to_dict() for k, v in self.ranges.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceSet:
        """Inverse of :meth:`to_dict`; raises ``ValueError``/``KeyError`` on bad data."""
        ranges = data.get("ranges", {})
        if not isinstance(ranges, Mapping):
            raise ValueError("'ranges' must be a mapping of class id -> range")
        return cls(
            str(data["name"]), {str(k): ReferenceRange.from_dict(v) for k, v in ranges.items()}
        )


#: Example adult set, relative % only: the published adult ranges quoted in the design
#: (neutrophils 43-72, lymphocytes 18-43, monocytes 4-12, eosinophils 0-8, basophils 0-2).
#: Reference ranges depend on the population and method: each laboratory must replace
#: this with its own validated set. No absolute ranges are shipped.
DEFAULT_REFERENCE = ReferenceSet(
    "Adult (example published set; set your own)",
    {
        "neutrophil": ReferenceRange(43.0, 72.0),
        "lymphocyte": ReferenceRange(18.0, 43.0),
        "monocyte": ReferenceRange(4.0, 12.0),
        "eosinophil": ReferenceRange(0.0, 8.0),
        "basophil": ReferenceRange(0.0, 2.0),
    },
)
