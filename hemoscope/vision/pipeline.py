"""The analysis pipeline: one frame in, one `Field` of classified cells out.

    pipeline = Pipeline.load(threads=2)          # loads both models once
    field = pipeline.analyze(frame_bgr, source="slide-12/field-3.jpg")

Steps: the frame (8-bit, any size, gray/BGR/RGB, with or without alpha) is converted to
RGB once; the detector finds red cells, white cells and platelets (re-running itself in
tiles when cells come out too small, or working in tiles at a given red-cell size, see
`wide_field`); every white-cell box is cut by the crop rule
(`hemoscope.vision.crops`) and classified in batches; the cells become a `Field`.

What a cell carries
  - ``kind``: the kind *as detected* (`Cell.kind` is documented so), ``score`` the
    detector's raw score.
  - White cells: ``auto_class`` is the classifier's class (a taxonomy id),
    ``probability`` its calibrated probability, ``review`` is set when that probability
    is below the classifier card's review threshold, ``embedding`` the classifier's
    embedding of the cell (float16; the cell map places the cell by it).
  - Red cells and platelets are counted, not classified (``auto_class`` is ``None``).

No white cell vanishes: a white-cell detection of a white cell's size (its box at least
`crops.WBC_MIN_RBC_SHARE` of the field's red-cell diameter; any size when the field gives no
red-cell scale) that the classifier calls a platelet or a red cell keeps the white-cell
class the classifier ranks highest, and is flagged for review with the reason
"detector and classifier disagree": it stays in the differential until a person decides.
A smaller white-cell detection that the classifier calls ``platelet`` (a large platelet
or a clump) keeps ``kind = WBC`` with ``auto_class = "platelet"``. The taxonomy gives that
class the platelet kind and keeps it out of the differential denominator, and the core
counts by the *effective* kind (`hemoscope.core.effective_kind`): it counts as a
platelet in the smear estimates, as a per-100-WBC row in the tally, and goes back into
the differential if the technician relabels it as a white cell. Turning its kind into
PLATELET instead would hide it from the tally and from such a relabelling.

Thread safety: the models are loaded once and reused for every frame; calls are
serialised by a lock, so one worker (or several, taking turns) may share a pipeline.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    REASON_DISAGREE,
    SENSITIVITY_STAMP,
    Box,
    Cell,
    CellKind,
    Field,
    ModelStamp,
    Taxonomy,
    join_reasons,
    split_reasons,
)
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.crops import rbc_diameter, wbc_sized
from hemoscope.vision.detector import Detections, Detector
from hemoscope.vision.image_input import Channels, to_rgb
from hemoscope.vision.lab_profile import PROFILE_ROLE, LabProfile
from hemoscope.vision.pipeline_parts import (
    ClassifierLike,
    DetectorLike,
    FrameAnalysis,
    cell_embedding,
    classifier_ids,
    detector_kinds,
)
from hemoscope.vision.unfamiliar import STANDARD, sensitivity_text
from hemoscope.vision.wide_field import ScalableDetector, detect_at_cell_size

__all__ = ["CROP_CHUNK", "ClassifierLike", "DetectorLike", "FrameAnalysis", "Pipeline"]

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]

DISAGREE = REASON_DISAGREE

CROP_CHUNK = 256
"""White cells cut and classified per step: bounds the crops held in memory (12 MiB)."""


class Pipeline:
    """Detector + classifier, loaded once, turning frames into fields."""

    def __init__(
        self,
        detector: DetectorLike,
        classifier: ClassifierLike,
        *,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        rbc_diameter: float | None = None,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.taxonomy = taxonomy
        self._kinds = detector_kinds(detector.names)
        self._class_ids = classifier_ids(classifier.classes, taxonomy)
        self._class_kinds = tuple(taxonomy[c].kind for c in self._class_ids)
        self._white = np.array([k is CellKind.WBC for k in self._class_kinds], dtype=bool)
        self._lock = threading.Lock()
        self._rbc_diameter: float | None = None
        self.rbc_diameter = rbc_diameter
        # The models every field records as having analysed it (from their cards).
        self.stamps: tuple[ModelStamp, ...] = ()
        self._stamp_models()

    def _stamp_models(self) -> None:
        stamps = [
            ModelStamp.from_card(card, role) for role, card in self.model_cards().items() if card
        ]
        # A stricter review sensitivity changes which cells are flagged: every field it
        # analysed says so, beside the models (the standard one goes unstamped).
        if self.sensitivity != STANDARD:
            stamps.append(ModelStamp(SENSITIVITY_STAMP, sensitivity_text(self.sensitivity)))
        self.stamps = tuple(stamps)

    @property
    def sensitivity(self) -> str:
        """The classifier's review sensitivity to unfamiliar cells (`vision.unfamiliar`)."""
        return str(getattr(self.classifier, "sensitivity", STANDARD))

    def set_sensitivity(self, sensitivity: str) -> None:
        """Flag unfamiliar cells at another review sensitivity from the next frame on;
        it joins the stamps of every field. Raises `ModelError` (or ``ValueError`` for a
        classifier without the setting) when the level cannot be used."""
        setter = getattr(self.classifier, "set_sensitivity", None)
        if not callable(setter):
            if sensitivity == STANDARD:
                return
            raise ValueError("this classifier has no review sensitivity setting")
        with self._lock:
            setter(sensitivity)
            self._stamp_models()

    @property
    def profile(self) -> LabProfile | None:
        """The laboratory profile in use (`vision.lab_profile`), or None."""
        profile = getattr(self.classifier, "profile", None)
        return profile if isinstance(profile, LabProfile) else None

    def set_profile(self, profile: LabProfile | None) -> None:
        """Use a laboratory profile from the next frame on (None: the shipped model);
        its identity joins the stamps of every field. Raises `ProfileError` for a
        profile made for other model files (the one in use stays)."""
        if profile is not None:
            cards = self.model_cards()
            cards.pop(PROFILE_ROLE, None)
            profile.check_models(cards)
        setter = getattr(self.classifier, "set_profile", None)
        if not callable(setter):
            raise ValueError("this classifier cannot take a laboratory profile")
        with self._lock:
            setter(profile)
            self._stamp_models()

    @property
    def rbc_diameter(self) -> float | None:
        """Typical red-cell diameter in frame pixels, or ``None`` (the detector decides).

        Set it for cameras whose field holds many more cells than the detector's training
        fields: frames are then analysed in tiles at the trained scale (`wide_field`).
        """
        return self._rbc_diameter

    @rbc_diameter.setter
    def rbc_diameter(self, value: float | None) -> None:
        if value is not None:
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"the red-cell diameter must be > 0 pixels, got {value}")
            missing = [a for a in ("long_side", "nms_iou") if not hasattr(self.detector, a)]
            if missing:
                raise ValueError(f"this detector cannot work in tiles (no {missing})")
        with self._lock:
            self._rbc_diameter = None if value is None else float(value)

    @classmethod
    def load(
        cls,
        detector_path: Path | str | None = None,
        classifier_path: Path | str | None = None,
        *,
        threads: int | None = None,
        score_threshold: float | None = None,
        review_threshold: float | None = None,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        rbc_diameter: float | None = None,
        profile: Path | str | LabProfile | None = None,
        sensitivity: str = STANDARD,
    ) -> Pipeline:
        """Load both models (default: the shipped ones, sha256-checked against their cards)
        and the laboratory profile, if one is given (a file or a loaded profile), flagging
        unfamiliar cells at the given review sensitivity (`vision.unfamiliar`).

        Raises `ModelError` when a model is missing, damaged or does not fit the taxonomy,
        `ProfileError` (a `ModelError`) for a profile made for other model files.
        """
        detector = Detector(detector_path, threads=threads, threshold=score_threshold)
        classifier = Classifier(
            classifier_path,
            threads=threads,
            review_threshold=review_threshold,
            sensitivity=sensitivity,
        )
        pipeline = cls(detector, classifier, taxonomy=taxonomy, rbc_diameter=rbc_diameter)
        if profile is not None:
            loaded = profile if isinstance(profile, LabProfile) else LabProfile.load(profile)
            pipeline.set_profile(loaded)
        return pipeline

    @property
    def taxonomy_ids(self) -> tuple[str, ...]:
        """The taxonomy id of each of the classifier's classes, in its order."""
        return self._class_ids

    @property
    def review_threshold(self) -> float:
        return float(self.classifier.review_threshold)

    def model_cards(self) -> dict[str, dict[str, Any]]:
        """The model cards (``{}`` for models without one), for reports and JSON."""
        cards = {
            "detector": dict(getattr(self.detector, "card", {}) or {}),
            "classifier": dict(getattr(self.classifier, "card", {}) or {}),
        }
        if self.profile is not None:
            cards[PROFILE_ROLE] = self.profile.card()
        return cards

    # -- analysis ---------------------------------------------------------------------
    def analyze(
        self,
        frame: npt.NDArray[np.generic],
        channels: Channels = "bgr",
        *,
        source: str = "",
        captured_at: datetime | None = None,
    ) -> Field:
        """The field of cells found in ``frame`` (see :meth:`analyze_frame`)."""
        return self.analyze_frame(frame, channels, source=source, captured_at=captured_at).field

    def analyze_frame(
        self,
        frame: npt.NDArray[np.generic],
        channels: Channels = "bgr",
        *,
        source: str = "",
        captured_at: datetime | None = None,
    ) -> FrameAnalysis:
        """Detect, crop and classify. ``frame`` is never modified.

        Raises ``ValueError`` for a frame that is not an 8-bit image (see `to_rgb`).
        An RGB frame given with ``channels="rgb"`` is used without a copy.
        """
        with self._lock:
            rgb = to_rgb(frame, channels)
            height, width = rgb.shape[:2]
            t0 = time.perf_counter()
            det = self._detect(rgb)
            t1 = time.perf_counter()
            boxes, kinds, scores = self._valid(det, width, height)
            wbc = np.flatnonzero(np.array([k is CellKind.WBC for k in kinds], dtype=bool))
            rbc_mask = np.array([k is CellKind.RBC for k in kinds], dtype=bool)
            scale = self._rbc_diameter or rbc_diameter(boxes[rbc_mask], width, height)
            labels, conf, reasons, probs, emb = self._classify(rgb, boxes[wbc], scale)
            t2 = time.perf_counter()
        cells: list[Cell] = []
        wbc_ids: list[str] = []
        slot = {int(i): j for j, i in enumerate(wbc)}
        for i, (box, kind, score) in enumerate(zip(boxes, kinds, scores, strict=True)):
            j = slot.get(i)
            if j is None:
                cell = Cell.create(Box.from_array(box), kind, score=score)
            else:
                cell = Cell.create(
                    Box.from_array(box),
                    kind,
                    auto_class=labels[j],
                    score=score,
                    probability=conf[j],
                    review=bool(reasons[j]),
                    review_reason=reasons[j],
                    embedding=cell_embedding(emb, j),
                )
                wbc_ids.append(cell.id)
            cells.append(cell)
        field = Field.create(cells, width, height, source, captured_at, self.stamps)
        log.debug(
            "%s: %d cells (%d WBC) in %.1f + %.1f ms",
            source or "frame",
            len(cells),
            len(wbc_ids),
            1000 * (t1 - t0),
            1000 * (t2 - t1),
        )
        return FrameAnalysis(
            field,
            tuple(wbc_ids),
            probs,
            emb,
            self._class_ids,
            int(det.tiles),
            t1 - t0,
            t2 - t1,
        )

    def _detect(self, rgb: U8) -> Detections:
        if self._rbc_diameter is None:
            return self.detector.detect(rgb, "rgb")
        scalable = cast(ScalableDetector, self.detector)  # checked by the setter
        return detect_at_cell_size(scalable, rgb, self._rbc_diameter)

    def _valid(
        self, det: Detections, width: int, height: int
    ) -> tuple[npt.NDArray[np.float64], list[CellKind], list[float]]:
        """Boxes clipped to the frame; empty, non-finite and unknown-class ones dropped."""
        boxes = np.asarray(det.boxes, dtype=np.float64).reshape(-1, 4)
        classes = np.asarray(det.classes, dtype=np.int64).reshape(-1)
        scores = np.asarray(det.scores, dtype=np.float64).reshape(-1)
        ok = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
        ok &= (classes >= 0) & (classes < len(self._kinds))
        boxes = boxes[ok]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        dropped = len(ok) - int(keep.sum())
        if dropped:
            log.debug("dropped %d empty or invalid detections", dropped)
        kinds = [self._kinds[int(c)] for c in classes[ok][keep]]
        return boxes[keep], kinds, [min(1.0, max(0.0, float(s))) for s in scores[ok][keep]]

    def _classify(
        self, rgb: U8, boxes: npt.NDArray[np.float64], rbc: float | None = None
    ) -> tuple[list[str], list[float], list[str], npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """Per white cell: class id, probability, review reason ("" when not flagged),
        and the probabilities and embeddings of all of them."""
        labels: list[str] = []
        conf: list[float] = []
        reasons: list[str] = []
        probs: list[npt.NDArray[np.float64]] = []
        emb: list[npt.NDArray[np.float32]] = []
        index = {c: i for i, c in enumerate(self.classifier.classes)}
        for start in range(0, len(boxes), CROP_CHUNK):
            crops = self._crops(rgb, boxes[start : start + CROP_CHUNK], rbc)
            res = self.classifier.classify_crops(crops)
            p = np.asarray(res.probabilities, dtype=np.float64)
            why = res.review_reasons()
            for i, lbl in enumerate(res.labels):
                k = index[lbl]
                reason = why[i]
                if (
                    self._white.any()
                    and self._class_kinds[k] is not CellKind.WBC
                    and wbc_sized(boxes[start + i], rbc)
                ):
                    k = int(np.argmax(np.where(self._white, p[i], -1.0)))
                    reason = join_reasons((*split_reasons(reason), DISAGREE))
                labels.append(self._class_ids[k])
                conf.append(min(1.0, max(0.0, float(p[i, k]))))
                reasons.append(reason)
            probs.append(p)
            emb.append(np.asarray(res.embedding, dtype=np.float32))
        n_cls = len(self._class_ids)
        all_probs = np.concatenate(probs) if probs else np.zeros((0, n_cls), np.float64)
        all_emb = np.concatenate(emb) if emb else np.zeros((0, 0), np.float32)
        return labels, conf, reasons, all_probs, all_emb

    def _crops(self, rgb: U8, boxes: npt.NDArray[np.float64], rbc: float | None = None) -> U8:
        """The crop rule's crops of the white cells (each costs its crop, not the frame),
        at the scale of the field's red cells (`crops.rbc_diameter`) when known."""
        return self.classifier.crops_for_boxes(rgb, boxes, rbc)
