"""A stricter review sensitivity chosen in the middle of a case also reaches the white
cells captured before it.

Blasts Suspected (or a stricter level in Settings ▸ Models) makes the classifier flag more
cells unfamiliar from the next frame on. The cells of the open case were classified at
the level in use then; the station keeps each one's embedding, so `EarlierCells` scores
them again at the new level (on Qt's thread pool: the GUI thread runs no model) and
flags those now unfamiliar for review, as one undoable step, each cell's flag in the
audit trail (`FlagUnfamiliar`). Left as they are: cells a person has decided (confirmed,
relabelled, drawn), cells out of the tally (they need no decision), and cells of fields
another classifier analysed (before a model update: their embeddings are that model's).
With a laboratory profile in use the score is that of the embedding the station stored
(the camera's and the calibrated crop averaged); the capture scored the camera's crop
too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject

from hemoscope.core import REASON_UNFAMILIAR, Case, CellKind, split_reasons
from hemoscope.ui.shared.pool_task import PoolTask
from hemoscope.vision.unfamiliar import stricter

__all__ = ["Candidates", "EarlierCells", "candidates"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidates:
    """The open case's white cells a stricter level may flag: ``(field id, cell id)`` and
    their embeddings (N, D), in the same order."""

    cells: tuple[tuple[str, str], ...]
    embeddings: npt.NDArray[np.float32]


def candidates(case: Case | None, classifier_sha256: str, dim: int) -> Candidates:
    """White cells of ``case`` analysed by the classifier of ``classifier_sha256`` (fields
    not stamped count as its), with an embedding of dimension ``dim``, in the tally (not
    already counted in an earlier field nor cut by the edge), not decided by a person and
    not flagged unfamiliar already."""
    cells: list[tuple[str, str]] = []
    vectors: list[npt.NDArray[np.float32]] = []
    for fld in case.fields if case is not None else ():
        if fld.models and not any(m.sha256 == classifier_sha256 for m in fld.models):
            continue
        for cell in fld.cells:
            if (
                cell.kind is not CellKind.WBC
                or cell.manual
                or cell.final_class is not None
                or cell.uncounted
                or cell.embedding is None
                or cell.embedding.dim != dim
                or REASON_UNFAMILIAR in split_reasons(cell.review_reason)
            ):
                continue
            cells.append((fld.id, cell.id))
            vectors.append(cell.embedding.vector())
    stacked = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return Candidates(tuple(cells), stacked)


class EarlierCells(QObject):
    """Follows the review sensitivity of the models ``worker`` announces (its `ready`
    signal, sent at load and after every change, whichever way the level was chosen);
    when it becomes stricter, scores the open case's earlier cells at the new level and
    has them flagged (`flag(cells, sensitivity)`: the case controller's undoable macro);
    `announce(text)` says how many."""

    def __init__(
        self,
        *,
        case: Callable[[], Case | None],
        worker: Any,
        flag: Callable[[list[tuple[str, str]], str], None],
        announce: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._case = case
        self._worker = worker
        self._flag = flag
        self._announce = announce
        self.task = PoolTask(self)
        self.sensitivity = ""  # the level last announced ("": models not loaded yet)
        worker.ready.connect(self.models_announced)

    def models_announced(self, _versions: str = "") -> None:
        """The worker announced its models: score the earlier cells again when their
        review sensitivity became stricter than the one last announced."""
        clf = self._worker.classifier
        model = getattr(clf, "unfamiliar", None)
        level = str(getattr(model, "sensitivity", ""))
        before, self.sensitivity = self.sensitivity, level
        if clf is not None and model is not None and stricter(level, before):
            self._score(clf, model)

    def _score(self, clf: Any, model: Any) -> None:
        """Score the open case's candidates by ``model`` on the pool, then flag."""
        sensitivity = str(model.sensitivity)
        sha = str(clf.card.get("sha256", ""))
        found = candidates(self._case(), sha, int(np.shape(model.means)[1]))
        if not found.cells:
            return
        case_id = getattr(self._case(), "id", None)
        self.task.run(
            lambda: model.flags(found.embeddings),
            lambda odd: self._apply(case_id, found, np.asarray(odd, bool), sensitivity),
            lambda error: log.error("earlier cells not scored again: %s", error),
        )

    def _apply(
        self, case_id: str | None, found: Candidates, odd: npt.NDArray[np.bool_], level: str
    ) -> None:
        case = self._case()
        if case is None or case.id != case_id:
            return  # another case was opened meanwhile
        chosen = [cell for cell, on in zip(found.cells, odd, strict=True) if on]
        if chosen:
            self._flag(chosen, level)
        self._announce(
            f"Flagging unfamiliar cells at {level} review sensitivity from now on. "
            f"Of the {len(found.cells)} white cells captured before, {len(chosen)} "
            f"{'is' if len(chosen) == 1 else 'are'} now flagged unfamiliar at {level} review "
            "sensitivity" + (" (Edit ▸ Undo takes the flags back)." if chosen else ".")
        )
