"""Vision fixtures: small random-init models exported with the project's export code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from tiny_models import tiny_models


@pytest.fixture(scope="session")
def model_paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(detector.onnx, classifier.onnx): tiny, random, with valid cards (sha256 included)."""
    pytest.importorskip("torch")
    return tiny_models(tmp_path_factory.mktemp("tiny-models"))
