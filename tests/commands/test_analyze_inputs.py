"""``hemoscope analyze`` on bad and unusual input: listed with a reason, never a traceback."""

from __future__ import annotations

import json
import os
import pathlib
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from analyze_schema import check_document
from analyze_testing import Result, Runner
from tiny_models import smear_field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capture"))
import image_factory

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def good(folder: Path, name: str = "good.png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert cv2.imwrite(str(path), smear_field(5, 240, 320))
    return path


def run_json(
    run_analyze: Runner, tmp_path: Path, *paths: Path | str, options: tuple[str, ...] = ()
) -> tuple[Result, Any]:
    out = tmp_path / "result.json"
    res = run_analyze(*options, "--json", out, "--", *paths)
    doc = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    if doc is not None:
        check_document(doc)
    return res, doc


def errors(doc: dict[str, Any]) -> dict[str, str]:
    return {Path(i["file"]).name: i["error"] for i in doc["images"] if i["status"] == "error"}


def test_broken_files_are_listed_and_the_rest_processed(
    run_analyze: Runner, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    ok = good(src)
    png = ok.read_bytes()
    corrupt = bytearray(png)
    corrupt[60:200] = bytes(140)  # inside the compressed data
    (src / "corrupt.png").write_bytes(bytes(corrupt))
    _, jpg = cv2.imencode(".jpg", smear_field(6, 240, 320))
    (src / "truncated.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 2])
    (src / "empty.tif").write_bytes(b"")
    (src / "notes.jpg").write_text("not a picture", encoding="utf-8")
    readme = src / "readme.txt"
    readme.write_text("hello", encoding="utf-8")
    res, doc = run_json(run_analyze, tmp_path, src, readme, tmp_path / "missing.png")
    assert res.code == 2
    errs = errors(doc)
    assert "corrupt" in errs["corrupt.png"]
    assert "truncated" in errs["truncated.jpg"]
    assert "empty" in errs["empty.tif"]
    assert "not an image" in errs["notes.jpg"] and "not an image" in errs["readme.txt"]
    assert "not found" in errs["missing.png"]
    assert [i["status"] for i in doc["images"] if i["file"].endswith("good.png")] == ["ok"]
    for name, reason in errs.items():
        assert f"{name}: {reason}" in res.err  # also on stderr
    assert "Traceback" not in res.err and "1 image analysed, 6 failed" in res.out


def test_none_readable_exits_1_and_still_lists_the_reasons(
    run_analyze: Runner, tmp_path: Path
) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    res, doc = run_json(run_analyze, tmp_path, tmp_path / "a.png")
    assert res.code == 1 and res.out == "" and "none of the 1 files" in res.err
    assert doc["files"] == {"total": 1, "ok": 0, "failed": 1}
    assert doc["differential"]["total"] == 0 and doc["estimates"]["platelets"] is None


def test_folders_without_images(run_analyze: Runner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "x.png").write_bytes(good(tmp_path / "g").read_bytes())
    res = run_analyze(empty)
    assert res.code == 1 and "no image files found" in res.err
    res, doc = run_json(run_analyze, tmp_path, empty, tmp_path / "g")
    assert res.code == 2 and "--recursive" in errors(doc)["empty"]
    res, doc = run_json(run_analyze, tmp_path, empty, options=("--recursive",))
    assert res.code == 0 and doc["files"]["ok"] == 1


def test_unreadable_file_simulated(
    run_analyze: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = good(tmp_path / "in", "locked.png")
    good(tmp_path / "in")
    real_open = pathlib.Path.open

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", guarded)
    res, doc = run_json(run_analyze, tmp_path, locked.parent)
    assert res.code == 2 and errors(doc) == {"locked.png": "permission denied"}


@pytest.mark.skipif(ROOT or sys.platform == "win32", reason="root reads any file")
def test_unreadable_file_and_folder(run_analyze: Runner, tmp_path: Path) -> None:
    locked = good(tmp_path / "in", "locked.png")
    good(tmp_path / "in")
    closed = tmp_path / "closed"
    good(closed)
    locked.chmod(0)
    closed.chmod(0)
    try:
        res, doc = run_json(run_analyze, tmp_path, tmp_path / "in", closed)
    finally:
        locked.chmod(0o644)
        closed.chmod(0o755)
    assert res.code == 2 and errors(doc)["locked.png"] == "permission denied"
    assert "closed" in errors(doc)


def test_depths_layouts_and_orientation(run_analyze: Runner, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    bgr = smear_field(7, 200, 300)
    cv2.imwrite(str(src / "deep16.tif"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(src / "float.tif"), bgr.astype(np.float32) / 255)
    cv2.imwrite(str(src / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(src / "rgba.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    idx = (np.arange(200 * 300) % 4).reshape(200, 300).astype(np.uint8)
    pal = [(225, 215, 235), (170, 150, 215), (150, 60, 110), (0, 0, 0)]
    (src / "palette.png").write_bytes(image_factory.palette_png(idx, pal))
    (src / "rotated.jpg").write_bytes(image_factory.jpeg_with_orientation(bgr, 6))
    res, doc = run_json(run_analyze, tmp_path, src)
    assert res.code == 0, res.err
    sizes = {Path(i["file"]).name: (i["width"], i["height"]) for i in doc["images"]}
    assert sizes.pop("rotated.jpg") == (200, 300)  # EXIF 6: turned upright, portrait
    assert set(sizes.values()) == {(300, 200)} and len(sizes) == 5


def test_non_ascii_and_undecodable_paths(run_analyze: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "données" / "血液"
    path = good(folder, "ñandú µ.png")
    out = folder / "résultat.json"
    res = run_analyze("--json", out, "--csv", folder / "cellules.csv", path)
    assert res.code == 0, res.err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["images"][0]["file"] == str(path)
    assert str(path) in (folder / "cellules.csv").read_text(encoding="utf-8")
    if sys.platform.startswith("linux"):
        raw = os.fsencode(folder) + b"/bad\xff.png"
        with open(raw, "wb") as f:
            f.write(path.read_bytes())
        res, doc = run_json(run_analyze, tmp_path, os.fsdecode(raw))
        assert res.code == 0 and doc["images"][0]["file"].endswith("bad\ufffd.png")


def test_huge_images_are_refused_before_decoding(run_analyze: Runner, tmp_path: Path) -> None:
    src = tmp_path / "in"
    good(src)
    (src / "huge.png").write_bytes(image_factory.png_header_claiming(30000, 30000))
    (src / "huge.jpg").write_bytes(image_factory.jpeg_claiming(30000, 30000))
    cv2.imwrite(str(src / "big.jpg"), np.full((1200, 1000, 3), 200, np.uint8))
    res = run_analyze("--json", tmp_path / "r.json", "--max-megapixels", "1", src)
    doc = json.loads((tmp_path / "r.json").read_text())
    errs = errors(doc)
    assert res.code == 2 and set(errs) == {"huge.png", "huge.jpg", "big.jpg"}
    assert all("too large" in e for e in errs.values())
    assert "30000 × 30000" in errs["huge.png"] and "1000 × 1200" in errs["big.jpg"]


def test_a_failing_frame_does_not_end_the_batch(
    run_analyze: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hemoscope.vision.pipeline import Pipeline

    real = Pipeline.analyze

    def flaky(self: Pipeline, frame: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("source", "").endswith("b.png"):
            raise RuntimeError("ONNX Runtime said no")
        return real(self, frame, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "analyze", flaky)
    good(tmp_path / "in", "a.png")
    good(tmp_path / "in", "b.png")
    res, doc = run_json(run_analyze, tmp_path, tmp_path / "in")
    assert res.code == 2 and errors(doc) == {"b.png": "analysis failed: ONNX Runtime said no"}
