"""Where the cell map's projection comes from: the shipped classifier's statistics.

The projection (`core.MapProjection.discriminant`) is derived once from the classifier's
unfamiliar-cell statistics (``<model>.unfamiliar.npz``: class means and the whitening of
the shared covariance) and its card's class names. Reading and checking the file is
disk work, so `ProjectionSource.get` is called from the map's worker, never from the
GUI thread; the result is kept for the session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from hemoscope.core import MapProjection, Taxonomy
from hemoscope.vision.model_card import ModelError, load_card, models_dir
from hemoscope.vision.unfamiliar import UnfamiliarModel

__all__ = ["ProjectionSource", "load_projection"]


def load_projection(
    model_path: Path | None = None, taxonomy: Taxonomy | None = None
) -> MapProjection:
    """The map's projection from a classifier (default: the shipped one); its classes are
    taxonomy ids where ``taxonomy`` resolves them. Raises `ModelError` when the model
    has no statistics or they cannot be read."""
    path = model_path if model_path is not None else models_dir() / "classifier.onnx"
    card = load_card(path, verify=False)  # the statistics' own sha256 is checked
    model = UnfamiliarModel.from_card(path, card)
    if model is None:
        raise ModelError(f"{path.name} ships no embedding statistics for a cell map")
    names = [str(c) for c in card.get("classes", ())]
    if taxonomy is not None:
        names = [c if c in taxonomy else (taxonomy.resolve(c) or c) for c in names]
    sha = str(card.get("sha256", ""))
    return MapProjection.discriminant(model.means, model.whiten, names, sha)


class ProjectionSource:
    """Loads the projection on first use (from any thread), then keeps it; ``error``
    says why there is none."""

    def __init__(self, load: Callable[[], MapProjection] | None = None) -> None:
        self._load = load if load is not None else load_projection
        self._lock = threading.Lock()
        self._done = False
        self._projection: MapProjection | None = None
        self.error = ""

    def get(self) -> MapProjection | None:
        with self._lock:
            if not self._done:
                self._done = True
                try:
                    self._projection = self._load()
                except (ModelError, OSError, ValueError) as error:
                    self.error = str(error)
            return self._projection
