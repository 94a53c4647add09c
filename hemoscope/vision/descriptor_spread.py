"""The classifier card's spread of each descriptor dimension over its training crops
(``descriptor_spread``, written by ``python -m hemoscope.training descriptor-spread``):
the unit in which a laboratory profile's head correction measures each dimension of the
descriptor (`vision.lab_adapt`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SPREAD_FLOOR", "descriptor_spread"]

F64 = npt.NDArray[np.float64]

SPREAD_FLOOR = 1e-3
"""A dimension's spread is at least this fraction of the mean spread (no division by a
dimension that never varied in training)."""


def descriptor_spread(card: dict[str, Any] | None, width: int) -> F64 | None:
    """The classifier card's spread of each descriptor dimension over its training crops
    (``descriptor_spread``, `training.descriptor_spread`), floored at `SPREAD_FLOOR` of
    the mean; None when the card has none or it does not fit descriptors of ``width``."""
    values = ((card or {}).get("descriptor_spread") or {}).get("values")
    if not isinstance(values, list) or len(values) != width or not width:
        return None
    spread = np.asarray(values, np.float64)
    if not np.isfinite(spread).all() or float(spread.max()) <= 0:
        return None
    out: F64 = np.maximum(spread, SPREAD_FLOOR * float(spread.mean()))
    return out
