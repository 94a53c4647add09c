"""Memory stays bounded on a large image (a generous guard; the figures are in the benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from analyze_testing import REPO
from tiny_models import smear_field

GUARD_MIB = 600  # measured ~320 MiB: ~100 MiB baseline, the 103 MiB frame, decoder buffers

# VmHWM, not ru_maxrss: the latter keeps the forking parent's (pytest's) size across exec.
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from analyze_testing import parser
ns = parser().parse_args(["analyze", *sys.argv[2:]])
code = ns.handler(ns)
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
sys.stderr.write(f"PEAK_MIB {peak:.0f}\\n")
sys.exit(code)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_a_36_megapixel_image_is_analysed_within_bounded_memory(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    big = cv2.resize(smear_field(21), (6000, 6000), interpolation=cv2.INTER_NEAREST)
    assert cv2.imwrite(str(tmp_path / "big.jpg"), big)
    del big
    det, clf = model_paths
    out = tmp_path / "r.json"
    argv = ["--detector", det, "--classifier", clf, "--threads", "1", "--json", out, "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent), *map(str, argv),
         str(tmp_path / "big.jpg")],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    peak = int(proc.stderr.split("PEAK_MIB")[1].split()[0])
    assert peak < GUARD_MIB, f"peak RSS {peak} MiB\n{proc.stderr}"
    image = json.loads(out.read_text())["images"][0]
    assert image["status"] == "ok" and (image["width"], image["height"]) == (6000, 6000)
    assert all(0 <= c["box"][2] <= 6000 for c in image["cells"])
