"""Cell detector at run time: ONNX Runtime on the CPU, any frame size."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hemoscope.vision.detector_decode import postprocess
from hemoscope.vision.image_input import Channels, to_rgb
from hemoscope.vision.letterbox import letterbox
from hemoscope.vision.model_card import ModelError, create_session, load_card, models_dir
from hemoscope.vision.tiling import detect_in_tiles, tile_grid

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]

RBC_MIN_INPUT_PX = 18.0
"""Median red-cell size (input pixels) below which a frame is re-run in tiles."""
RBC_TARGET_INPUT_PX = 50.0
SIZE_EVIDENCE_SCORE = 0.5
"""Only red cells found with at least this score say how large the cells are, so a low
threshold (an AP measurement keeps scores down to 0.001) does not change the decision."""
MAX_TILES = 64


@dataclass(frozen=True)
class Detections:
    """Boxes in original pixel coordinates, x1 y1 x2 y2; classes index ``names``."""

    boxes: F32
    classes: npt.NDArray[np.int64]
    scores: F32
    names: tuple[str, ...]
    tiles: int = 1

    def __len__(self) -> int:
        return len(self.scores)

    def count(self, name: str) -> int:
        return int((self.classes == self.names.index(name)).sum())


class Detector:
    """Loads the detector once; :meth:`detect` is safe to call from one thread at a time."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        threads: int | None = None,
        threshold: float | None = None,
        nms_iou: float | None = None,
    ) -> None:
        self.path = Path(model_path) if model_path else models_dir() / "detector.onnx"
        self.card = load_card(self.path)
        self.session = create_session(self.path, threads)
        try:
            self.names = tuple(str(c) for c in self.card["classes"])
            self.long_side = int(self.card["input"]["letterbox"]["long_side"])
            self.stride = int(self.card["outputs"]["stride"])
            thr = self.card["thresholds"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card of {self.path.name} lacks {exc}") from exc
        self.nms_iou = float(nms_iou if nms_iou is not None else thr["nms_iou"])
        self.class_thresholds = np.zeros(len(self.names), np.float32)
        per_class = thr.get("score_per_class") if isinstance(thr, dict) else None
        if threshold is not None:
            self.set_threshold(threshold)
        elif isinstance(per_class, dict):
            default = float(thr["score"])
            self.class_thresholds = np.array(
                [float(per_class.get(n, default)) for n in self.names], np.float32
            )
        else:
            self.set_threshold(float(thr["score"]))

    @property
    def threshold(self) -> float:
        """The lowest score kept (a class may keep only higher ones: `class_thresholds`)."""
        return float(self.class_thresholds.min())

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.set_threshold(value)

    def set_threshold(self, value: float) -> None:
        """One score threshold for every class."""
        self.class_thresholds = np.full(len(self.names), float(value), np.float32)

    @property
    def version(self) -> str:
        return f"{self.card.get('version', '?')} ({str(self.card.get('sha256', ''))[:8]})"

    def _run(
        self, rgb: npt.NDArray[np.uint8], scale: float | None = None
    ) -> tuple[F32, npt.NDArray[np.int64], F32]:
        inp, lb = letterbox(rgb, self.long_side, scale)
        x = inp.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)
        heat, size, offset = self.session.run(None, {"image": x})
        h, w = rgb.shape[:2]
        boxes, classes, scores = postprocess(
            heat[0],
            size[0],
            offset[0],
            self.stride,
            1 / lb.scale,
            self.threshold,
            self.nms_iou,
            (w, h),
        )
        keep = scores >= self.class_thresholds[classes]
        return boxes[keep], classes[keep], scores[keep]

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections:
        """Find cells in an 8-bit frame of any size (gray, BGR/RGB, with or without alpha).

        The frame is letterboxed to the model's input. When red cells come out smaller
        than the model was trained on (a wide field or a very large frame), the frame is
        analysed again in overlapping tiles at a larger scale.
        """
        rgb = to_rgb(image, channels)
        boxes, classes, scores = self._run(rgb)
        scale0 = self.long_side / max(rgb.shape[:2])
        sure = scores >= SIZE_EVIDENCE_SCORE
        rbc_px = self._median_size(boxes[sure], classes[sure], "rbc") * scale0
        if 0 < rbc_px < RBC_MIN_INPUT_PX:
            return self._tiled(rgb, scale0 * RBC_TARGET_INPUT_PX / rbc_px)
        return Detections(boxes, classes, scores, self.names)

    def _median_size(self, boxes: F32, classes: npt.NDArray[np.int64], name: str) -> float:
        if name not in self.names:
            return 0.0
        sel = boxes[classes == self.names.index(name)]
        if len(sel) < 3:
            return 0.0
        return float(np.median(np.maximum(sel[:, 2] - sel[:, 0], sel[:, 3] - sel[:, 1])))

    def _tiled(self, rgb: npt.NDArray[np.uint8], scale: float) -> Detections:
        h, w = rgb.shape[:2]
        tile = self.long_side / scale  # original pixels per tile side
        nx, ny = tile_grid(w, h, tile)
        if nx * ny > MAX_TILES:
            return self._tiled(rgb, scale / math.sqrt(nx * ny / MAX_TILES))
        boxes, classes, scores, tiles = detect_in_tiles(
            rgb, tile, lambda t: self._run(t, scale), self.nms_iou
        )
        log.debug("%d tiles at scale %.3f: %d cells", tiles, scale, len(scores))
        return Detections(boxes, classes, scores, self.names, tiles=tiles)
