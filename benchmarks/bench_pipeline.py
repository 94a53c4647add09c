"""End-to-end throughput of ``hemoscope analyze`` on 640x480 fields, and its peak memory.

    python benchmarks/bench_pipeline.py [--detector F] [--classifier F] [--images DIR]
                                        [--fields 200]

A folder of ``--fields`` 640x480 JPEG fields is made (real ones from
../shared/data/txl-pbc when present, repeated as needed, else generated smear-like ones).
Each figure comes from a fresh process running the command's own loop (`analyze_run.run`):
list the folder, read and decode each file, detect, crop and classify, stream the JSON and
CSV, then the differential and estimates. Fields per second exclude the one-off model
loading, which is shown apart. Peak RSS is the child process's high-water mark; it is
measured for N and 4N fields to show that it does not grow with the number of files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib

DEFAULT_IMAGES = Path(__file__).resolve().parents[1].parent / "shared/data/txl-pbc/images"

CHILD = """
import json, sys, time
from pathlib import Path
import cv2
sys.path.insert(0, {bench!r})
from _common import peak_rss_mib
from hemoscope.commands.analyze_run import Options, run
from hemoscope.vision.pipeline import Pipeline

def peak_mib():  # VmHWM: ru_maxrss would keep the forking parent's size across exec
    try:
        status = open("/proc/self/status").read()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return peak_rss_mib()

folder, out, det, clf, threads = sys.argv[1:6]
threads = int(threads)
cv2.setNumThreads(threads)
t0 = time.perf_counter()
pipeline = Pipeline.load(det or None, clf or None, threads=threads)
t1 = time.perf_counter()
opts = Options([Path(folder)], outputs={{"json": Path(out) / "r.json", "csv": Path(out) / "c.csv"}},
               threads=threads, progress=False)
sys.stdout = open("/dev/null", "w")
code = run(opts, pipeline)
t2 = time.perf_counter()
peak = peak_mib()  # before reading the results back
n = len(list(Path(folder).iterdir()))
doc = json.loads((Path(out) / "r.json").read_text())
print(json.dumps({{"code": code, "load_s": t1 - t0, "run_s": t2 - t1, "n": n,
                  "wbc": doc["differential"]["total"], "rss": peak}}), file=sys.stderr)
"""


def real_fields(images: Path) -> list[Path]:
    found = []
    for split in ("val", "train"):
        for p in sorted((images / split).glob("*.jpg")) if (images / split).is_dir() else []:
            if cv2.imread(str(p), cv2.IMREAD_REDUCED_GRAYSCALE_8).shape[:2] == (60, 80):
                found.append(p)
    return found


def generated_field(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((480, 640, 3), (225, 215, 235), np.uint8)
    for _ in range(30):
        c = (int(rng.integers(0, 640)), int(rng.integers(0, 480)))
        cv2.circle(img, c, int(rng.integers(30, 42)), (170, 150, 215), -1)
    for _ in range(2):
        c = (int(rng.integers(60, 580)), int(rng.integers(60, 420)))
        cv2.circle(img, c, 50, (150, 60, 110), -1)
    return img


def make_folder(folder: Path, n: int, sources: list[Path]) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        if sources:
            shutil.copy(sources[i % len(sources)], folder / f"field{i:05d}.jpg")
        else:
            cv2.imwrite(str(folder / f"field{i:05d}.jpg"), generated_field(i))


def child(folder: Path, out: Path, args: argparse.Namespace, threads: int) -> dict[str, float]:
    out.mkdir(exist_ok=True)
    code = CHILD.format(bench=str(Path(__file__).resolve().parent))
    argv = [str(folder), str(out), str(args.detector or ""), str(args.classifier or "")]
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv, str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"benchmark child failed:\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stderr.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--detector", type=Path, default=None)
    ap.add_argument("--classifier", type=Path, default=None)
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--fields", type=int, default=200)
    args = ap.parse_args()
    sources = real_fields(args.images)
    kind = f"real 640x480 fields ({len(sources)} distinct)" if sources else "generated fields"
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        small, large = Path(tmp) / "n", Path(tmp) / "4n"
        make_folder(small, args.fields, sources)
        make_folder(large, 4 * args.fields, sources)
        print(f"hemoscope analyze, end to end, {args.fields} {kind} (JPEG), JSON + CSV out")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs before the runs)")
        for threads in (1, 2):
            r = child(small, Path(tmp) / f"out{threads}", args, threads)
            label = f"{threads} thread{'s' if threads > 1 else ' '}"
            print(
                f"  {label}: {r['n'] / r['run_s']:6.1f} fields/s  "
                f"({1000 * r['run_s'] / r['n']:5.1f} ms/field, {r['wbc']} WBC classified; "
                f"model loading {r['load_s']:.2f} s once)   peak RSS {r['rss']:.0f} MiB"
            )
        r4 = child(large, Path(tmp) / "out4n", args, 2)
        print(
            f"  2 threads, {r4['n']} fields: {r4['n'] / r4['run_s']:6.1f} fields/s   "
            f"peak RSS {r4['rss']:.0f} MiB (vs {r['rss']:.0f} MiB for {r['n']})"
        )
    print(f"(benchmark driver peak RSS {peak_rss_mib():.0f} MiB)")


if __name__ == "__main__":
    main()
