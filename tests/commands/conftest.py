"""Fixtures for the command tests: tiny exported models, a parser with `analyze`, images."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analyze_testing import Result, Runner, parser
from tiny_models import smear_field, tiny_models


@pytest.fixture(scope="session")
def model_paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Small random-init detector and classifier exported by the project's export code."""
    pytest.importorskip("torch")
    return tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def run_analyze(model_paths: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``hemoscope analyze ARGS...`` in-process with the tiny models."""
    det, clf = model_paths

    def run(*args: str | Path, models: bool = True) -> Result:
        argv = ["analyze"]
        if models:
            argv += ["--detector", str(det), "--classifier", str(clf), "--threads", "1"]
        argv += map(str, args)
        ns = parser().parse_args(argv)
        code = ns.handler(ns)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def field_folder(tmp_path: Path) -> Path:
    """Three generated 640x480 smear fields (JPEG and PNG)."""
    folder = tmp_path / "fields"
    folder.mkdir()
    for i, ext in enumerate((".jpg", ".png", ".jpg")):
        cv2.imwrite(str(folder / f"field{i + 1}{ext}"), smear_field(10 + i))
    return folder
