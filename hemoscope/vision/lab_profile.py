"""A laboratory profile: the shipped classifier's head, refitted on one laboratory's cells.

Every laboratory has its own stain and camera; the cells its technicians confirm or
correct are labelled examples from exactly that microscope. A profile (made by
``hemoscope adapt``, `vision.lab_adapt`) holds what those cells taught:

- a correction of the classifier's linear head, ``delta_weight`` (C, D) and
  ``delta_bias`` (C), added to the shipped model's calibrated logits:
  ``z = logits / base_temperature + embedding @ delta_weight.T + delta_bias``, where
  "embedding" is the classifier's descriptor (`Classifier.logits_and_descriptor`: its
  embedding followed by its ``features`` output, the pooled maps of its middle stages,
  where its graph has one; D is the descriptor's width). It was fitted with an L2
  penalty on the correction itself, i.e. towards the shipped head, and
  the rows of classes the laboratory gave no example of are zero, so what the shipped
  model knows of them is kept;
- a temperature recalibrated on held-back cells (``probabilities = softmax(z / T)``);
- the sha256, name and version of the classifier and detector it extends (a profile is
  refused with any other model files), the cells per class, the before/after validation.

A cell the shipped model gives to a class the profile was given no cell of, and the
profile to another, is flagged for review (``"class not in the laboratory profile"``,
`LabProfile.unlearnt`): learning from a laboratory's cells teaches nothing about the
classes it did not show, so the profile never silently overrules the shipped model there.

A profile may also hold the microscope's colour calibration
(`vision.colour_calibration`): the classifier then sees every crop as the camera gave it
and mapped to the training laboratory's colours, the two averaged
(`vision.classifier.colour_average`; ``colour_view: "average"``), or, when the
classifier's card says ``colour_view: "calibrated"`` (it was measured better that way),
the calibrated crop alone. Profiles written before the average (format version 2) were
fitted on the calibrated crop alone and are still applied that way, so a profile
behaves as it was validated. ``hemoscope adapt --colour-only`` makes a profile of
the calibration alone from unlabelled cells (zero correction, the shipped temperature);
a labelled ``adapt`` fits the head with and without the calibration and keeps the
better by cross-validation (`vision.lab_adapt_colour`).

A calibration profile (format version 4) may also hold the laboratory's own cells as
neighbours (`vision.lab_neighbours`): a sample of the microscope's unlabelled white cells'
descriptors and their spread votes; the classifier then blends a cell's probabilities
with the vote of its nearest bank cells (`Neighbourhood.apply`).

What a profile never touches: the graph and the unfamiliar-cell statistics and threshold
(`vision.unfamiliar`). The unfamiliar flag is computed from the embedding exactly as
without a profile; with a colour calibration the cell is scored both as calibrated and
as the camera gave it and the more unfamiliar of the two counts, so no profile makes the
flag weaker. A labelled profile may hold a review threshold below the card's, chosen on
its own cells' cross-validated calls (`lab_review.review_threshold_for`); the classifier
uses it at the standard review sensitivity only.

The file is JSON (``format: hemoscope-lab-profile``); its identity is the sha256 of its
bytes, stamped on every field it analysed like the models' (`stamp`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.core import ModelStamp
from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.colour_calibration import ColourCalibration
from hemoscope.vision.lab_neighbours import Neighbourhood, NeighbourhoodError
from hemoscope.vision.model_card import ModelError, file_sha256

__all__ = [
    "COLOUR_VIEWS",
    "FORMAT",
    "NOT_LEARNT",
    "PROFILE_ROLE",
    "LabProfile",
    "ProfileError",
    "UsualUnfamiliar",
    "colour_view_of",
    "model_identity",
]

FORMAT = "hemoscope-lab-profile"
FORMAT_VERSION = 4
COLOUR_VIEWS = ("average", "calibrated")
"""How a profile's colour calibration is used: the camera's and the calibrated crop
averaged (from format version 3), or the calibrated crop alone (version 2 files, and
classifiers whose card asks for it: `colour_view_of`)."""
NOT_LEARNT = "class not in the laboratory profile"
"""Review reason: the shipped model names a class the profile has no cell of."""
NOT_LEARNT_MIN = 0.5
PROFILE_ROLE = "lab profile"
"""The role of a profile among the models (`Pipeline.model_cards`, `ModelStamp` names)."""

F64 = npt.NDArray[np.float64]


class ProfileError(ModelError):
    """A laboratory profile cannot be read, or was made for other model files."""


def model_identity(card: Mapping[str, Any]) -> dict[str, str]:
    """What a profile records of a model it extends: name, version, sha256."""
    return {
        "name": str(card.get("name", "")),
        "version": str(card.get("version", "")),
        "sha256": str(card.get("sha256", "")),
    }


@dataclass(frozen=True)
class UsualUnfamiliar:
    """How many of a microscope's ordinary white cells the classifier flags unfamiliar
    (or out of focus) at the standard review sensitivity: measured on the cells the
    profile was made from, it is what a case of that microscope is compared with
    (`core.unusual`)."""

    share: float
    cells: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": "share of the white cells the profile was made from flagged unfamiliar "
            "or out of focus at the standard review sensitivity, as the classifier flags "
            "them with this profile",
            "share": round(float(self.share), 4),
            "cells": int(self.cells),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsualUnfamiliar:
        return cls(float(data["share"]), int(data["cells"]))

    def text(self) -> str:
        return f"{self.share:.0%} of {self.cells:,} of this microscope's white cells"


@dataclass(frozen=True)
class LabProfile:
    name: str
    created: str  # ISO 8601, UTC
    classes: tuple[str, ...]
    delta_weight: F64  # (C, D)
    delta_bias: F64  # (C,)
    base_temperature: float
    temperature: float
    models: dict[str, dict[str, str]]  # role -> model_identity
    cells_per_class: dict[str, int] = field(default_factory=dict)
    source: str = ""
    validation: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    colour: ColourCalibration | None = None  # the microscope's colour calibration
    colour_view: str = "average"  # `COLOUR_VIEWS`: how the classifier uses ``colour``
    neighbours: Neighbourhood | None = None  # the laboratory's own cells' votes
    # Below the card's, chosen on the labelled cells (`lab_review.review_threshold_for`);
    # None: the card's. Used at the standard review sensitivity only.
    review_threshold: float | None = None
    # The share of the microscope's cells a calibration saw flagged unfamiliar (or out of
    # focus) at the standard review sensitivity, and of how many; None: not measured.
    usual_unfamiliar: UsualUnfamiliar | None = None
    sha256: str = ""  # of the file it was read from or written to

    def __post_init__(self) -> None:
        c = np.shape(self.delta_weight)[0] if np.ndim(self.delta_weight) == 2 else -1
        if c != len(self.classes) or np.shape(self.delta_bias) != (c,):
            raise ProfileError(
                f"laboratory profile '{self.name}': its head does not fit its "
                f"{len(self.classes)} classes"
            )
        finite = np.isfinite(self.delta_weight).all() and np.isfinite(self.delta_bias).all()
        temps = (self.base_temperature, self.temperature)
        if not finite or not all(math.isfinite(t) and t > 0 for t in temps):
            raise ProfileError(f"laboratory profile '{self.name}' holds invalid numbers")
        t = self.review_threshold
        if t is not None and not (math.isfinite(t) and 0 < t <= 1):
            raise ProfileError(f"laboratory profile '{self.name}': review threshold {t}")
        if "classifier" not in self.models:
            raise ProfileError(f"laboratory profile '{self.name}' names no classifier")
        nb = self.neighbours
        if nb is not None and (nb.classes, nb.width_of_descriptor) != (c, self.embedding_size):
            raise ProfileError(
                f"laboratory profile '{self.name}': its neighbourhood does not fit its "
                "classes and descriptors"
            )
        u = self.usual_unfamiliar
        if u is not None and not (0 <= u.share <= 1 and u.cells > 0):
            raise ProfileError(f"laboratory profile '{self.name}': usual unfamiliar share {u}")
        if self.colour_view not in COLOUR_VIEWS:
            raise ProfileError(
                f"laboratory profile '{self.name}': unknown colour view '{self.colour_view}'"
            )

    @property
    def cells(self) -> int:
        """Cells the profile learnt from (labelled ones, or a calibration's crops)."""
        if self.colour is not None and not self.cells_per_class:
            return self.colour.cells
        return int(sum(self.cells_per_class.values()))

    @property
    def kind(self) -> str:
        parts = ["colour calibration"] if self.colour is not None else []
        if self.cells_per_class:
            parts.append("head refit")
        if self.neighbours is not None:
            parts.append(f"{self.neighbours.cells} neighbour cells")
        return " + ".join(parts) or "head refit"

    def review_note(self) -> str:
        """A sentence on the review threshold and how many of the profile's own cells,
        held back, it flags ("" for a profile made without labels)."""
        r = self.validation.get("review") or {}
        if not {"threshold", "flagged", "unflagged_right"} <= set(r):
            return ""
        t = float(r["threshold"])
        held = (
            f"of its own cells, held back, {r['flagged']:.0%} fall below it and "
            f"{r['unflagged_right']:.1%} of the others are right"
        )
        if self.review_threshold is None:
            return (
                f"Flags for review the cells it calls with less than {t:.2f} probability, "
                f"the card's ({held})."
            )
        return (
            f"Flags for review the cells it calls with less than {t:.2f} probability ({held}); "
            "at the standard review sensitivity only."
        )

    def usual_note(self) -> str:
        """A sentence on the microscope's usual unfamiliar share ("" when not measured)."""
        u = self.usual_unfamiliar
        if u is None:
            return ""
        return (
            f"Flagged unfamiliar: {u.text()}; the station points out a case with far more "
            "(blasts or other abnormal cells may be present)."
        )

    @property
    def embedding_size(self) -> int:
        return int(self.delta_weight.shape[1])

    @property
    def date(self) -> str:
        return self.created[:10]

    @classmethod
    def unlabelled(
        cls,
        *,
        classes: tuple[str, ...],
        embedding_size: int,
        base_temperature: float,
        models: Mapping[str, Mapping[str, Any]],
        name: str,
        source: str = "",
        colour: ColourCalibration | None = None,
        colour_view: str = "average",
        neighbours: Neighbourhood | None = None,
    ) -> LabProfile:
        """A profile made without labels: the shipped head unchanged, with a colour
        calibration and/or a neighbourhood."""
        return cls(
            name=name,
            created=now_iso(),
            classes=classes,
            delta_weight=np.zeros((len(classes), embedding_size)),
            delta_bias=np.zeros(len(classes)),
            base_temperature=float(base_temperature),
            temperature=1.0,
            models={role: model_identity(card) for role, card in models.items() if card},
            source=source,
            validation={"method": "none: made without labels"},
            colour=colour,
            colour_view=colour_view,
            neighbours=neighbours,
        )

    # -- use -----------------------------------------------------------------------------
    def adjusted_logits(self, logits: npt.ArrayLike, embedding: npt.ArrayLike) -> F64:
        """The shipped logits (N, C) with the laboratory's correction, before `temperature`."""
        lg = np.asarray(logits, np.float64)
        em = np.asarray(embedding, np.float64)
        if em.ndim != 2 or em.shape[1] != self.embedding_size or len(em) != len(lg):
            raise ValueError(
                f"profile '{self.name}' expects descriptors (N, {self.embedding_size}), "
                f"got {em.shape}"
            )
        out: F64 = lg / self.base_temperature + em @ self.delta_weight.T + self.delta_bias
        return out

    def probabilities(self, logits: npt.ArrayLike, embedding: npt.ArrayLike) -> F64:
        """Calibrated probabilities (N, C) with the profile's head: the cell's own, before
        any neighbourhood's vote (`Neighbourhood.apply`, which the classifier adds)."""
        if len(np.asarray(logits)) == 0:
            return np.zeros((0, len(self.classes)))
        return softmax(self.adjusted_logits(logits, embedding), self.temperature)

    def unlearnt(
        self, logits: npt.ArrayLike, best: npt.ArrayLike, base_temperature: float
    ) -> npt.NDArray[np.bool_]:
        """Per cell: the shipped model names (with at least `NOT_LEARNT_MIN` probability)
        a class this profile was given no cell of, and the profile names another. Such a
        cell goes to review (`NOT_LEARNT`): the profile cannot tell that class from the
        ones it learnt (on PBC, a profile from jiangxi or bionet called nearly every
        erythroblast and immature granulocyte something else), so it never silently
        overrules the shipped model on it."""
        lg = np.asarray(logits, np.float64)
        if not len(lg) or not self.cells_per_class:  # no head learnt: none overruled
            return np.zeros(len(lg), bool)
        shipped = softmax(lg, base_temperature)
        top = shipped.argmax(axis=1)
        learnt = np.array([c in self.cells_per_class for c in self.classes])
        out: npt.NDArray[np.bool_] = (
            ~learnt[top]
            & (shipped.max(axis=1) >= NOT_LEARNT_MIN)
            & (top != np.asarray(best, np.int64))
        )
        return out

    def card(self) -> dict[str, Any]:
        """The profile as the models are listed (`Pipeline.model_cards`): name, version
        (date and cells), sha256, the models it extends and, when measured, the usual
        unfamiliar share (what the station's unusual-case banner reads)."""
        return {
            "name": f"{PROFILE_ROLE} '{self.name}'",
            "version": f"{self.date}, {self.cells} cells"
            + (f", {self.kind}" if self.colour is not None or self.neighbours is not None else ""),
            "sha256": self.sha256,
            "extends": {role: dict(m) for role, m in self.models.items()},
            **(
                {"usual_unfamiliar": self.usual_unfamiliar.share}
                if self.usual_unfamiliar is not None
                else {}
            ),
        }

    def stamp(self) -> ModelStamp:
        return ModelStamp.from_card(self.card(), PROFILE_ROLE)

    def check_models(self, cards: Mapping[str, Mapping[str, Any]]) -> None:
        """Refuse (`ProfileError`) unless every model the profile extends is the one in
        use (same sha256): ``cards`` maps a role ("classifier", "detector") to its card."""
        for role, wanted in self.models.items():
            card = cards.get(role)
            if card is None:
                continue  # e.g. classify --framing whole: no detector in use
            have = str(card.get("sha256", ""))
            if have != wanted.get("sha256"):
                raise ProfileError(
                    f"laboratory profile '{self.name}' was made for the {role} "
                    f"{wanted.get('name', '?')} {wanted.get('version', '?')} (sha256 "
                    f"{str(wanted.get('sha256', ''))[:12]}), but the {role} in use is "
                    f"{card.get('name', '?')} {card.get('version', '?')} (sha256 {have[:12]}). "
                    "Make a new profile for these models with 'hemoscope adapt' (or "
                    "Settings ▸ Models ▸ Adapt to this microscope), or use the shipped model."
                )
        classes = tuple(str(c) for c in cards.get("classifier", {}).get("classes", ()))
        if classes and classes != self.classes:
            raise ProfileError(
                f"laboratory profile '{self.name}' has classes {', '.join(self.classes)}; "
                f"the classifier has {', '.join(classes)}"
            )

    # -- file ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "created": self.created,
            "source": self.source,
            "cells": self.cells,
            "cells_per_class": dict(self.cells_per_class),
            "models": {role: dict(m) for role, m in self.models.items()},
            "classes": list(self.classes),
            "embedding_size": self.embedding_size,
            "head": {
                "formula": "softmax((logits / base_temperature + embedding @ delta_weight.T "
                "+ delta_bias) / temperature)",
                "base_temperature": self.base_temperature,
                "temperature": self.temperature,
                "delta_bias": [float(v) for v in self.delta_bias],
                "delta_weight": [[float(v) for v in row] for row in self.delta_weight],
                **(
                    {"review_threshold": self.review_threshold}
                    if self.review_threshold is not None
                    else {}
                ),
            },
            "unchanged": "graph, unfamiliar-cell statistics and threshold"
            + ("" if self.review_threshold is not None else ", review threshold"),
            "validation": self.validation,
            "fit": self.fit,
            **(
                {"colour": self.colour.to_dict(), "colour_view": self.colour_view}
                if self.colour is not None
                else {}
            ),
            **({"neighbours": self.neighbours.to_dict()} if self.neighbours is not None else {}),
            **(
                {"usual_unfamiliar": self.usual_unfamiliar.to_dict()}
                if self.usual_unfamiliar is not None
                else {}
            ),
        }

    def save(self, path: Path) -> LabProfile:
        """Write the profile (atomically); the profile with the file's sha256."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ProfileError(f"cannot write the profile {path}: {exc.strerror or exc}") from exc
        return LabProfile.from_dict(self.to_dict(), sha256=file_sha256(path))

    @classmethod
    def load(cls, path: Path | str) -> LabProfile:
        path = Path(path)
        if not path.is_file():
            raise ProfileError(f"laboratory profile not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProfileError(f"laboratory profile {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProfileError(f"{path} is not a HemoScope laboratory profile")
        return cls.from_dict(data, sha256=file_sha256(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], sha256: str = "") -> LabProfile:
        try:
            version = int(data.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise ProfileError(
                    "this laboratory profile was written by a newer HemoScope; update it"
                )
            head = data["head"]
            models = {
                str(r): {str(k): str(v) for k, v in m.items()} for r, m in data["models"].items()
            }
            counts = {str(k): int(v) for k, v in data.get("cells_per_class", {}).items()}
            return cls(
                name=str(data["name"]),
                created=str(data["created"]),
                classes=tuple(str(c) for c in data["classes"]),
                delta_weight=np.asarray(head["delta_weight"], np.float64).reshape(
                    len(data["classes"]), -1
                ),
                delta_bias=np.asarray(head["delta_bias"], np.float64),
                base_temperature=float(head["base_temperature"]),
                temperature=float(head["temperature"]),
                review_threshold=(
                    float(head["review_threshold"]) if "review_threshold" in head else None
                ),
                models=models,
                cells_per_class=counts,
                source=str(data.get("source", "")),
                validation=dict(data.get("validation", {})),
                fit=dict(data.get("fit", {})),
                colour=ColourCalibration.from_dict(data["colour"]) if "colour" in data else None,
                colour_view=str(
                    data.get("colour_view", "average" if version >= 3 else "calibrated")
                ),
                neighbours=(
                    Neighbourhood.from_dict(data["neighbours"]) if "neighbours" in data else None
                ),
                usual_unfamiliar=(
                    UsualUnfamiliar.from_dict(data["usual_unfamiliar"])
                    if "usual_unfamiliar" in data
                    else None
                ),
                sha256=sha256,
            )
        except NeighbourhoodError as exc:
            raise ProfileError(f"the laboratory profile's neighbourhood: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProfileError(f"the laboratory profile is incomplete or damaged: {exc}") from exc


def colour_view_of(card: Mapping[str, Any]) -> str:
    """How the classifier of ``card`` is to see cells through a colour calibration
    (`COLOUR_VIEWS`): its card's ``colour_view``, chosen when the classifier was measured
    both ways (``benchmarks/cross_lab.py --calibrate``); "average" when it says nothing."""
    view = str(card.get("colour_view", "average"))
    if view not in COLOUR_VIEWS:
        raise ModelError(
            f"the classifier card's colour_view is '{view}'; it must be one of "
            + ", ".join(COLOUR_VIEWS)
        )
    return view


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
