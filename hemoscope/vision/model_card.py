"""Model files and their JSON cards: locate, read, verify the sha256."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import onnxruntime as ort


class ModelError(RuntimeError):
    """A model file is missing, damaged or does not match its card."""


def models_dir() -> Path:
    """The shipped ``models/`` folder (source tree, installed tree or frozen bundle)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "models"
    return Path(__file__).resolve().parents[2] / "models"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_card(model_path: Path, verify: bool = True) -> dict[str, Any]:
    """Read ``<model>.json`` beside ``<model>.onnx`` and check the file's sha256."""
    card_path = model_path.with_suffix(".json")
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    if not card_path.is_file():
        raise ModelError(f"model card not found: {card_path}")
    try:
        card: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model card {card_path} cannot be read: {exc}") from exc
    if verify:
        expected = str(card.get("sha256", ""))
        actual = file_sha256(model_path)
        if actual != expected:
            raise ModelError(
                f"{model_path.name} does not match its card: sha256 {actual[:12]}… "
                f"but the card says {expected[:12] or 'nothing'}…; the file is damaged or was "
                "replaced. Reinstall the application or restore the model with its card."
            )
    return card


def create_session(model_path: Path, threads: int | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle worker threads sleep instead of spinning: on a 2-core workstation the camera,
    # the GUI and a second inference thread compete for the same cores, and spinning
    # threads starve them (measured: 2-thread pipeline 18 -> 51 fields/s under load).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime raises its own exception types
        raise ModelError(f"cannot load {model_path.name}: {exc}") from exc


def descriptor_size(card: dict[str, Any]) -> int:
    """The descriptor width of a classifier (`Classifier.logits_and_descriptor`), from
    its card's ``outputs`` (0 when the card does not say)."""
    try:
        outputs = card["outputs"]
        return sum(int(outputs[k][1]) for k in ("embedding", "features") if k in outputs)
    except (KeyError, IndexError, TypeError, ValueError):
        return 0
