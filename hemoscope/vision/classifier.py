"""White-cell classifier at run time: ONNX Runtime, batched crops, calibrated output."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from hemoscope.core import REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR, join_reasons
from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.crops import crop_geometry, cut_crop, whole_image_geometry
from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH, blur_width
from hemoscope.vision.image_input import Channels, to_rgb
from hemoscope.vision.lab_neighbours import RARE_REASON
from hemoscope.vision.lab_profile import NOT_LEARNT, LabProfile, colour_view_of
from hemoscope.vision.model_card import (
    ModelError,
    create_session,
    descriptor_size,
    load_card,
    models_dir,
)
from hemoscope.vision.stain import standardise_batch
from hemoscope.vision.unfamiliar import STANDARD, UnfamiliarModel

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
A = TypeVar("A", npt.NDArray[np.float32], npt.NDArray[np.float64])


@dataclass(frozen=True)
class Classification:
    """Per crop: calibrated probabilities (N, C), best class and its probability,
    the review flag, and the pooled embedding (N, D); why each flagged crop is flagged
    (``reasons``: "low confidence", "unfamiliar", or both joined by "; "), its
    unfamiliarity score (`vision.unfamiliar`, NaN without the statistics), its blur
    width (`vision.focus`; wider than ``OUT_OF_FOCUS_WIDTH`` is flagged unfamiliar too)
    and what its colour standardisation was based on (`vision.stain.StainBasis`, "off" when the
    model takes crops as they are)."""

    probabilities: npt.NDArray[np.float64]
    labels: tuple[str, ...]
    confidence: npt.NDArray[np.float64]
    review: npt.NDArray[np.bool_]
    embedding: F32
    classes: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    unfamiliarity: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    stain: tuple[str, ...] = ()
    blur: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.labels)

    def review_reasons(self) -> tuple[str, ...]:
        """Why each crop is flagged ("" when it is not): ``reasons`` when the classifier
        gave them, else "low confidence" for each flagged crop."""
        if self.reasons:
            return self.reasons
        return tuple(REASON_LOW_CONFIDENCE if r else "" for r in self.review)


class Classifier:
    """Loads the classifier once; calls are safe from one thread at a time."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        threads: int | None = None,
        batch_size: int = 16,
        review_threshold: float | None = None,
        profile: LabProfile | None = None,
        turns: int | None = None,
        sensitivity: str = STANDARD,
    ) -> None:
        self.path = Path(model_path) if model_path else models_dir() / "classifier.onnx"
        self.card = load_card(self.path)
        self.session = create_session(self.path, threads)
        try:
            self.classes = tuple(str(c) for c in self.card["classes"])
            self.input_size = int(self.card["crop_rule"]["size"])
            self.crop_scale = float(self.card["crop_rule"]["scale"])
            self.temperature = float(self.card["temperature"])
            card_threshold = float(self.card["review_threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card of {self.path.name} lacks {exc}") from exc
        self._card_threshold = card_threshold
        self._given_threshold = review_threshold  # the caller's (--review-threshold)
        self.batch_size = max(1, batch_size)
        # Each crop classified as given and turned by 90 degrees (each with its mirror
        # image inside the graph), logits and embeddings averaged: the card's ``turns``.
        self.turns = _quarter_turns(turns if turns is not None else self.card.get("turns", 1))
        # The later turns only for crops the first leaves unsure (`_views`); None: all.
        self.more_turns_below = _more_turns_below(self.card)
        # Models trained on standardised crops (`vision.stain`) get standardised crops.
        self.standardise = bool(self.card.get("standardisation"))
        self._unfamiliar_card = UnfamiliarModel.from_card(self.path, self.card)
        self.unfamiliar = self._unfamiliar_card
        self.set_sensitivity(sensitivity)
        # What a laboratory profile's head correction reads (`logits_and_descriptor`): the
        # embedding, then the graph's ``features`` output where it has one.
        self._fetch, self.embedding_size, self.descriptor_size = _descriptor_outputs(
            self.session, self.card
        )
        # How new colour calibrations of this classifier are to be used (its card's).
        self.colour_view = colour_view_of(self.card)
        self.profile: LabProfile | None = None
        self.set_profile(profile)

    def set_profile(self, profile: LabProfile | None) -> None:
        """Use a laboratory profile (`vision.lab_profile`; None: the shipped head).
        Raises `ProfileError` for a profile made for another classifier."""
        if profile is not None:
            profile.check_models({"classifier": self.card})
        self.profile = profile

    @property
    def review_threshold(self) -> float:
        """Below this probability a cell is flagged for review (`threshold_with` the
        profile in use)."""
        return self.threshold_with(self.profile)

    def threshold_with(self, profile: LabProfile | None) -> float:
        """The review threshold with ``profile``: the caller's threshold when one was
        given; else, at the standard review sensitivity, the profile's (a labelled profile
        may lower it, `vision.lab_review`); else the card's."""
        if self._given_threshold is not None:
            return float(self._given_threshold)
        lab = profile.review_threshold if profile is not None else None
        if lab is not None and self.sensitivity == STANDARD:
            return float(lab)
        return float(self._card_threshold)

    @property
    def sensitivity(self) -> str:
        """The review sensitivity of the unfamiliar-cell flag (`vision.unfamiliar`)."""
        return self.unfamiliar.sensitivity if self.unfamiliar is not None else STANDARD

    def set_sensitivity(self, sensitivity: str) -> None:
        """Flag unfamiliar cells at another review sensitivity ("standard", "high",
        "highest": `vision.unfamiliar.SENSITIVITIES`). Raises `ModelError` for an unknown
        level, one the card has no threshold for, or a stricter one without statistics."""
        base = self._unfamiliar_card
        if base is None:
            if sensitivity != STANDARD:
                raise ModelError(
                    f"{self.path.name} has no unfamiliar-cell statistics: its review "
                    "sensitivity cannot be raised"
                )
            return
        self.unfamiliar = base.at(sensitivity)

    @property
    def version(self) -> str:
        return f"{self.card.get('version', '?')} ({str(self.card.get('sha256', ''))[:8]})"

    def classify_crops(self, crops: U8 | Sequence[U8]) -> Classification:
        """Classify RGB crops already cut by the crop rule, (N, S, S, 3) uint8."""
        arr = np.asarray(crops, dtype=np.uint8)
        if arr.ndim != 4 or arr.shape[1:] != (self.input_size, self.input_size, 3):
            side = self.input_size
            raise ValueError(f"expected crops of shape (N, {side}, {side}, 3), got {arr.shape}")
        all_logits, descriptor, raw_descriptor, stain = self._outputs(arr, self.profile)
        embedding = self.embedding_of(descriptor)
        raw_embedding = (
            embedding if raw_descriptor is descriptor else self.embedding_of(raw_descriptor)
        )
        if self.profile is not None:
            probs = self.profile.probabilities(all_logits, descriptor)
        else:
            probs = softmax(all_logits, self.temperature)
        score, odd, blur = self._unfamiliar_of(arr, embedding, raw_embedding, self.unfamiliar)
        rare = np.zeros(len(probs), bool)
        neighbours = self.profile.neighbours if self.profile is not None else None
        if neighbours is not None and len(probs):
            # The laboratory's own cells vote (`vision.lab_neighbours`); a confident,
            # familiar call of a class rare among them keeps its own probabilities.
            trusted = (probs.max(axis=1) >= self.review_threshold) & ~odd
            probs, rare = neighbours.apply(probs, descriptor, trusted)
        best = probs.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
        conf = probs.max(axis=1) if len(probs) else np.zeros(0)
        low = conf < self.review_threshold
        unlearnt = (
            self.profile.unlearnt(all_logits, best, self.temperature)
            if self.profile is not None
            else np.zeros(len(conf), bool)
        )
        reasons = tuple(
            join_reasons(
                r
                for r, on in (
                    (REASON_LOW_CONFIDENCE, lo),
                    (REASON_UNFAMILIAR, od),
                    (NOT_LEARNT, un),
                    (RARE_REASON, ra),
                )
                if on
            )
            for lo, od, un, ra in zip(low, odd, unlearnt, rare, strict=True)
        )
        return Classification(
            probabilities=probs,
            labels=tuple(self.classes[i] for i in best),
            confidence=conf,
            review=low | odd | unlearnt | rare,
            embedding=embedding,
            classes=self.classes,
            reasons=reasons,
            unfamiliarity=score,
            stain=stain,
            blur=blur,
        )

    def logits_and_embedding(self, crops: U8, turns: int | None = None) -> tuple[F32, F32]:
        """The graph's raw logits (N, C) and embeddings (N, D) of crops, every crop
        averaged over all the classifier's ``turns`` (`classify_crops` gives the later
        turns only to crops its first leaves unsure, `more_turns_below`; the shipped head,
        without a profile, colours as the camera gave them): what a laboratory profile is
        fitted on. ``turns`` (1-4) overrides the card's: 1 gives each crop's own
        outputs, which `lab_embed.embed_views` combines into its turned views."""
        logits, descriptor = self.logits_and_descriptor(crops, turns)
        return logits, self.embedding_of(descriptor)

    def logits_and_descriptor(self, crops: U8, turns: int | None = None) -> tuple[F32, F32]:
        """As `logits_and_embedding`, with each crop's descriptor (N, `descriptor_size`)
        instead of its embedding: the embedding followed by the graph's ``features`` (the
        pooled maps of its middle stages, `training.descriptor`), what a laboratory profile's
        head correction reads. Without that output, the embedding."""
        arr = np.asarray(crops, dtype=np.uint8)
        logits, descriptor, _, _ = self._run(arr, turns, every=True)
        return logits, descriptor

    def embedding_of(self, descriptor: A) -> A:
        """The embedding part of descriptors (a view, no copy)."""
        if len(self._fetch) == 2:
            return descriptor
        return descriptor[:, : self.embedding_size]

    def class_maps(self, crops: U8 | Sequence[U8]) -> F32:
        """The graph's class activation maps of RGB crops cut by the crop rule, (N, S, S, 3)
        uint8: (N, C, h, w) float32, one map per class, from each crop as given (not its
        mirror image), on the graph's own coarse grid. Asked for on demand only:
        `classify_crops` never computes them."""
        arr = np.asarray(crops, dtype=np.uint8)
        if arr.ndim != 4 or arr.shape[1:] != (self.input_size, self.input_size, 3):
            side = self.input_size
            raise ValueError(f"expected crops of shape (N, {side}, {side}, 3), got {arr.shape}")
        arr = self._calibrated(arr)
        if self.standardise and len(arr):
            arr, _ = standardise_batch(arr)
        maps = []
        for s in range(0, len(arr), self.batch_size):
            (cam,) = self.session.run(["cam"], {"image": graph_input(arr[s : s + self.batch_size])})
            maps.append(cam)
        if not maps:
            return np.zeros((0, len(self.classes), 1, 1), np.float32)
        return np.concatenate(maps).astype(np.float32, copy=False)

    def _calibrated(self, arr: U8) -> U8:
        """``arr`` with the profile's colour calibration of the microscope, if it has one."""
        colour = self.profile.colour if self.profile is not None else None
        return colour.apply(arr) if colour is not None and len(arr) else arr

    def seen_by(self, crops: U8, profile: LabProfile | None) -> tuple[F32, F32]:
        """Logits and descriptors of crops as `classify_crops` sees them with ``profile``
        (None: no profile; its colour calibration, if any, as its ``colour_view`` says),
        before its head: what a profile's neighbourhood is fitted on
        (`vision.lab_neighbours`). The profile in use is not changed."""
        logits, descriptor, _, _ = self._outputs(np.asarray(crops, np.uint8), profile)
        return logits, descriptor

    def seen_and_flagged(
        self, crops: U8, profile: LabProfile | None
    ) -> tuple[F32, F32, npt.NDArray[np.bool_]]:
        """`seen_by`, and which crops `classify_crops` would flag unfamiliar (or out of
        focus) with ``profile`` at the standard review sensitivity, whatever the
        sensitivity in use: what a calibration records as the microscope's usual share."""
        arr = np.asarray(crops, np.uint8)
        logits, descriptor, raw, _ = self._outputs(arr, profile)
        return logits, descriptor, self.standard_unfamiliar(arr, descriptor, raw)

    def standard_unfamiliar(
        self, crops: U8, descriptor: A, raw_descriptor: A
    ) -> npt.NDArray[np.bool_]:
        """Which crops `classify_crops` flags unfamiliar (or out of focus) at the standard
        review sensitivity, whatever the sensitivity in use, given their descriptors as
        seen with a profile and as the camera gave them (the same array without a colour
        calibration)."""
        seen = self.embedding_of(descriptor)
        raw = seen if raw_descriptor is descriptor else self.embedding_of(raw_descriptor)
        arr = np.asarray(crops, np.uint8)
        _, odd, _ = self._unfamiliar_of(arr, seen, raw, self._unfamiliar_card)
        return odd

    def _unfamiliar_of(
        self, arr: U8, embedding: A, raw_embedding: A, model: UnfamiliarModel | None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
        """Per crop: the unfamiliar-cell score by ``model``, the flag (unfamiliar or out of
        focus) and the blur width."""
        if model is not None and len(embedding):
            score, odd = model.assess(embedding)
            if raw_embedding is not embedding:
                # A colour calibration must not make the flag weaker: the cell is also
                # judged as the camera gave it, and the more unfamiliar of the two counts.
                raw_score, raw_odd = model.assess(raw_embedding)
                score, odd = np.maximum(score, raw_score), odd | raw_odd
        else:
            score = np.full(len(arr), np.nan)
            odd = np.zeros(len(arr), bool)
        blur = blur_width(arr)
        return score, odd | (blur > OUT_OF_FOCUS_WIDTH), blur

    def _outputs(
        self, arr: U8, profile: LabProfile | None
    ) -> tuple[F32, F32, F32, tuple[str, ...]]:
        """Logits, descriptors (`logits_and_descriptor`), the descriptors of the crops as
        the camera gave them and as the shipped model alone turns them (what the
        unfamiliar-cell flag also judges, so that a profile never makes it weaker), and
        the standardisation bases. With ``profile``'s colour calibration of the
        microscope, logits and descriptors are those of the camera's crop and the
        calibrated crop as the profile's ``colour_view`` says (`seen_through`); without
        a profile, or where it changes nothing, the third output is the second, the
        same array."""
        logits, descriptor, shipped, stain = self._run(arr, profile=profile)
        if profile is None or profile.colour is None or not len(arr):
            return logits, descriptor, shipped, stain
        cal_logits, cal_descriptor, _, stain = self._run(profile.colour.apply(arr), profile=profile)
        seen_logits, seen_descriptor = seen_through(
            profile.colour_view, (logits, descriptor), (cal_logits, cal_descriptor)
        )
        return seen_logits, seen_descriptor, shipped, stain

    def _run(
        self,
        arr: U8,
        turns: int | None = None,
        every: bool = False,
        profile: LabProfile | None = None,
    ) -> tuple[F32, F32, F32, tuple[str, ...]]:
        """The graph's logits and descriptors of crops as given, over the card's turns
        (the later ones for the crops the first view leaves unsure, `_views`), or every
        crop over all the card's turns (``every``) or over ``turns``; then the
        descriptors as the shipped head alone would have turned them (the second output,
        the same array, unless ``profile`` turned more crops); and the standardisation
        bases."""
        if self.standardise and len(arr):
            arr, bases = standardise_batch(arr)
            stain: tuple[str, ...] = bases
        else:
            stain = ("off",) * len(arr)
        n_turns = self.turns if turns is None else _quarter_turns(turns)
        logits, desc, shipped = [], [], []
        for s in range(0, len(arr), self.batch_size):
            lg, de, sh = self._views(
                arr[s : s + self.batch_size], n_turns, every or turns is not None, profile
            )
            logits.append(lg)
            desc.append(de)
            shipped.append(sh)
        n_cls = len(self.classes)
        all_logits = np.concatenate(logits) if logits else np.zeros((0, n_cls), np.float32)
        empty = np.zeros((0, 0), np.float32)
        descriptor = np.concatenate(desc).astype(np.float32) if desc else empty
        same = all(sh is de for sh, de in zip(shipped, desc, strict=True))
        as_shipped = descriptor if same else np.concatenate(shipped).astype(np.float32)
        return all_logits, descriptor, as_shipped, stain

    def _views(
        self, batch: U8, turns: int, every: bool = False, profile: LabProfile | None = None
    ) -> tuple[F32, F32, F32]:
        """Logits and descriptors of a batch averaged over its first ``turns`` quarter
        turns, and the descriptors as the shipped head alone would have turned them.

        With the card's `more_turns_below` (and not ``every``), only the crops whose
        first view names its class with less than that probability (or less than the
        review threshold, where that is higher) get the later turns; the others keep the
        first view's outputs. Unsure by the shipped head at the card's temperature, or by
        ``profile``'s head: a crop either finds unsure is turned. The third output then
        keeps the first view for the crops only the profile turned (the same array when
        there are none), so that the unfamiliar-cell flag, which also judges it, is never
        weaker with a profile. The same at every review sensitivity: a stricter one
        changes which cells are flagged, never their classes."""
        x = graph_input(batch)
        lg, em = self._descriptors(x)
        if turns == 1:
            return lg, em, em
        more = np.ones(len(x), bool)
        by_profile = np.zeros(len(x), bool)
        if self.more_turns_below is not None and not every:
            more, by_profile = self.unsure_at_first(lg, em, profile)
            more |= by_profile
            if not more.any():
                return lg, em, em
        first = em[by_profile] if by_profile.any() else None
        xs = x[more]
        lg_m, em_m = lg[more], em[more]
        for r in range(1, turns):
            lg_r, em_r = self._descriptors(np.ascontiguousarray(np.rot90(xs, r, axes=(2, 3))))
            lg_m, em_m = lg_m + lg_r, em_m + em_r
        lg[more] = lg_m / np.float32(turns)
        em[more] = em_m / np.float32(turns)
        if first is None:
            return lg, em, em
        as_shipped = em.copy()
        as_shipped[by_profile] = first
        return lg, em, as_shipped

    def unsure_at_first(
        self, logits: A, descriptor: A, profile: LabProfile | None = None
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Which crops, from their first view's raw logits and descriptors, get the later
        turns (`more_turns_below`; all when it is None): those the shipped head finds
        unsure, and those only ``profile``'s head finds unsure. Unsure: the top class
        below `more_turns_below`, or below the review threshold where that is higher."""
        n = len(logits)
        if self.more_turns_below is None:
            return np.ones(n, bool), np.zeros(n, bool)
        below = max(self.more_turns_below, self.threshold_with(None))
        shipped = softmax(logits, self.temperature).max(axis=1) < below
        if profile is None:
            return shipped, np.zeros(n, bool)
        below = max(self.more_turns_below, self.threshold_with(profile))
        return shipped, (profile.probabilities(logits, descriptor).max(axis=1) < below) & ~shipped

    def _descriptors(self, x: F32) -> tuple[F32, F32]:
        out = self.session.run(self._fetch, {"image": x})
        return out[0], out[1] if len(out) == 2 else np.concatenate(out[1:], axis=1)

    def crops_for_boxes(self, image_rgb: U8, boxes: npt.ArrayLike, rbc: float | None = None) -> U8:
        """Cut the crop rule's square around each (x1, y1, x2, y2) box; ``rbc``: the
        image's red-cell diameter (`crops.rbc_diameter`), None when unknown."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        out = np.empty((len(b), self.input_size, self.input_size, 3), np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(b):
            cx, cy, side = crop_geometry(x1, y1, x2, y2, self.crop_scale, rbc)
            out[i] = cut_crop(image_rgb, cx, cy, side, self.input_size)
        return out

    def classify_boxes(
        self,
        image: npt.NDArray[np.generic],
        boxes: npt.ArrayLike,
        channels: Channels = "bgr",
        rbc: float | None = None,
    ) -> Classification:
        rgb = to_rgb(image, channels)
        return self.classify_crops(self.crops_for_boxes(rgb, boxes, rbc))

    def crop_whole_image(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> U8:
        """An image that is itself one cell's crop, squared and resized."""
        rgb = to_rgb(image, channels)
        cx, cy, side = whole_image_geometry(*rgb.shape[:2])
        return cut_crop(rgb, cx, cy, side, self.input_size)


def _descriptor_outputs(session: Any, card: dict[str, Any]) -> tuple[list[str], int, int]:
    """The graph outputs a descriptor is made of, the embedding's width and the
    descriptor's (from the graph, else its card; 0 when neither says, which only a graph
    without ``features`` may leave unsaid)."""
    outputs = {o.name: o.shape for o in session.get_outputs()}
    width = outputs.get("embedding", [None, None])[-1]
    if not isinstance(width, int):
        try:
            width = int(card["outputs"]["embedding"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            width = 0
    if "features" not in outputs:
        return ["logits", "embedding"], width, width
    extra = outputs["features"][-1]
    total = width + extra if isinstance(extra, int) else descriptor_size(card)
    if width <= 0 or total <= width:
        raise ModelError("the classifier's graph has features but no embedding or feature width")
    return ["logits", "embedding", "features"], width, total


def _more_turns_below(card: dict[str, Any]) -> float | None:
    """The card's ``more_turns_below`` (None when absent: every crop gets every turn)."""
    value = card.get("more_turns_below")
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"more_turns_below in the card is not a number: {value!r}") from exc


def _quarter_turns(turns: int | str | float) -> int:
    """A number of quarter turns to average, 1 to 4."""
    return max(1, min(4, int(turns)))


def graph_input(batch: U8) -> F32:
    """Crops (N, S, S, 3) uint8 as the graph's input, (N, 3, S, S) float32 in [0, 1]."""
    return batch.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)


def seen_through(view: str, camera: tuple[A, A], calibrated: tuple[A, A]) -> tuple[A, A]:
    """Logits and embeddings of cells seen through a colour calibration, from those of
    the camera's crops and of the calibrated ones, as ``view`` says
    (`lab_profile.COLOUR_VIEWS`): "average" (`colour_average`) or "calibrated" (the
    calibrated crops alone: profiles of format version 2, and classifiers whose card's
    ``colour_view`` asks for it)."""
    return calibrated if view == "calibrated" else colour_average(camera, calibrated)


def colour_average(camera: tuple[A, A], calibrated: tuple[A, A]) -> tuple[A, A]:
    """How a cell is seen through a colour calibration of its microscope
    (`vision.colour_calibration`): the logits and embeddings of the crop as the camera
    gave it and of the calibrated crop, averaged. The calibration helps where the
    camera's colours mislead the classifier and costs where they did not; the average
    keeps most of either (shipped classifier, each laboratory calibrated on all its
    cells: jiangxi 76.3 % camera, 73.0 % calibrated, 75.7 % averaged; bionet 77.2 /
    80.8 / 81.1 %, balanced 76.8 / 60.4 / 79.3 %). That is the shipped classifier's
    behaviour, not a rule (other models of the same recipe did better on bionet with
    the calibrated crop alone): a new classifier is measured both ways
    (``benchmarks/cross_lab.py --calibrate``) and its card's ``colour_view`` says which
    (`seen_through`). Run time, profile fitting and the benchmarks all use this one
    definition. The camera's pass is made anyway (the unfamiliar-cell score of the
    camera's crop), so it costs nothing more."""
    logits = (camera[0] + calibrated[0]) / 2
    embedding = (camera[1] + calibrated[1]) / 2
    return cast(A, logits.astype(camera[0].dtype)), cast(A, embedding.astype(camera[1].dtype))
