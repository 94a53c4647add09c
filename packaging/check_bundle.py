"""Check a built bundle against the source tree: `make bundle-check` (part of `make test`).

    python packaging/check_bundle.py [dist/HemoScope] [--images DIR] [--keep DIR]

1. Contents: the models, resources and build information are there, the Qt plugins the
   station needs are there, and torch, torchvision and hemoscope.training are not (neither
   as files nor as modules in the frozen archive). On Linux, every library that a bundled
   binary needs is in the bundle or on this machine.
2. `hemoscope --version` names the build (version, date, commit).
3. `hemoscope analyze` of the frozen app and of the source tree on the same images give
   the same cells: the same number per image, the same kinds and classes, boxes within
   `BOX_TOLERANCE` pixels, scores within `SCORE_TOLERANCE`. The images are a few real
   fields from ../shared/data (TXL-PBC) when it is there, otherwise fields written by the
   simulated microscope.
4. `hemoscope --smoke-test` of the frozen app passes headless (QT_QPA_PLATFORM=offscreen)
   and, where xvfb-run is installed, on an X server (the xcb plugin a desktop uses).

Exit status 0 when all passed; each step prints one line with its time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elf_info import elf_info
from system_deps import host_libraries
from workstation import OPTIONAL

ROOT = Path(__file__).resolve().parents[1]
REAL_IMAGES = ROOT.parent / "shared" / "data" / "txl-pbc" / "images" / "val"
IMAGE_COUNT = 6
BOX_TOLERANCE = 1.0  # pixels
SCORE_TOLERANCE = 0.01
TIMEOUT_S = 180
FORBIDDEN_MODULES = ("torch", "torchvision", "hemoscope.training", "pyqtgraph.opengl")
# Libraries a bundle takes from the workstation: the graphics stack and the display
# server's client libraries (PyInstaller leaves them out on purpose).
HOST_LIBRARY_PREFIXES = (
    "libc.",
    "libm.",
    "libdl.",
    "librt.",
    "libpthread.",
    "ld-linux",
    "libutil.",
    "libGL",
    "libEGL",
    "libOpenGL",
    "libGLX",
    "libGLdispatch",
    "libdrm.",
    "libgbm.",
    "libvulkan",
    "libwayland-",
    "libxcb.so",
)


class CheckFailed(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=ROOT / "dist" / "HemoScope")
    parser.add_argument("--images", type=Path, help="analyse these images (a folder)")
    parser.add_argument("--keep", type=Path, help="keep the JSON outputs in this folder")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    exe = bundle / ("hemoscope.exe" if sys.platform == "win32" else "hemoscope")
    if not exe.is_file():
        print(f"no bundle at {bundle} (run `make bundle`)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="hemoscope-bundle-check-"))
    failures = 0
    steps: list[tuple[str, Callable[[], str]]] = [
        ("contents", lambda: check_contents(bundle, exe)),
        ("version", lambda: check_version(exe)),
        ("analyze", lambda: check_analyze(exe, args.images, args.keep or work, work)),
        ("smoke test (offscreen)", lambda: check_smoke(exe, "offscreen")),
        ("smoke test (xcb, Xvfb)", lambda: check_smoke(exe, "xcb")),
    ]
    t_all = time.monotonic()
    try:
        for name, step in steps:
            t0 = time.monotonic()
            try:
                detail = step()
                print(f"ok    {name:<24} {time.monotonic() - t0:5.1f} s  {detail}", flush=True)
            except CheckFailed as error:
                failures += 1
                print(f"FAIL  {name:<24} {time.monotonic() - t0:5.1f} s  {error}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verdict = "passed" if not failures else f"{failures} failed"
    print(f"bundle check {verdict} in {time.monotonic() - t_all:.1f} s ({bundle})")
    return 1 if failures else 0


# --- 1. contents --------------------------------------------------------------------------


def _card_files(models: Path) -> list[str]:
    """The files the model cards name beside the models (the classifier's unfamiliar-cell
    statistics), which the bundle needs as much as the models."""
    files = []
    for card in sorted(models.glob("*.json")):
        entry = json.loads(card.read_text(encoding="utf-8")).get("unfamiliar")
        if isinstance(entry, dict) and entry.get("file"):
            files.append(f"models/{entry['file']}")
    return files


def check_contents(bundle: Path, exe: Path) -> str:
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    problems = []
    for need in (
        "models/detector.onnx",
        "models/classifier.onnx",
        *_card_files(ROOT / "models"),
        "resources/icons",
        "resources/styles",
        "build_info.json",
    ):
        if not (internal / need).exists():
            problems.append(f"missing {need}")
    plugins = next((p for p in internal.glob("PySide6/**/plugins") if p.is_dir()), None)
    if plugins is None:
        problems.append("no Qt plugins")
    else:
        wanted = ["imageformats", "iconengines"]
        if sys.platform.startswith("linux"):
            wanted += ["platforms/libqoffscreen.so", "platforms/libqxcb.so", "printsupport"]
        problems += [f"missing Qt plugin {w}" for w in wanted if not (plugins / w).exists()]
    files = [p.relative_to(internal).as_posix() for p in internal.rglob("*")]
    problems += [f"bundled {f}" for f in files if _forbidden_file(f)]
    modules = _frozen_modules(exe)
    problems += [f"frozen module {m}" for m in modules if _forbidden_module(m)]
    if "hemoscope.cli" not in modules:
        problems.append("hemoscope.cli is not in the frozen archive")
    missing_libs = _missing_libraries(internal) if sys.platform.startswith("linux") else []
    problems += [
        f"{lib} (needed by {who}) is neither bundled nor installed"
        for lib, who in missing_libs
        if lib not in OPTIONAL
    ]
    if problems:
        raise CheckFailed("; ".join(problems[:10]) + (" ..." if len(problems) > 10 else ""))
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    absent = sorted({OPTIONAL[lib] for lib, _ in missing_libs if lib in OPTIONAL})
    return (
        f"{len(files)} files, {size / 2**20:.0f} MiB, {len(modules)} frozen modules; "
        "no torch, torchvision or hemoscope.training"
        + (f"; not on this machine: {', '.join(absent)}" if absent else "")
    )


def _forbidden_file(relative: str) -> bool:
    parts = relative.lower().split("/")
    return any(
        p in ("torch", "torchvision", "torch.libs", "torchvision.libs") or p.startswith("libtorch")
        for p in parts
    ) or relative.startswith("hemoscope/training")


def _forbidden_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES)


def _frozen_modules(exe: Path) -> set[str]:
    from PyInstaller.archive.readers import PKG_ITEM_PYZ, CArchiveReader

    archive = CArchiveReader(str(exe))
    names: set[str] = set()
    for name, entry in archive.toc.items():
        names.add(name)
        if entry[-1] == PKG_ITEM_PYZ:
            names.update(archive.open_embedded_archive(name).toc.keys())
    return names


def _missing_libraries(internal: Path) -> list[tuple[str, str]]:
    bundled = {p.name for p in internal.rglob("*.so*")}
    host = _host_libraries()
    missing = []
    for path in internal.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        for lib in sorted(elf_info(path).needed):
            if lib in bundled or lib in host or lib.startswith(HOST_LIBRARY_PREFIXES):
                continue
            missing.append((lib, path.relative_to(internal).as_posix()))
    return missing


def _host_libraries() -> set[str]:
    """The workstation's libraries, as the set-up check sees them: ldconfig found also
    where /sbin is not on a user's PATH (Debian), this machine's architecture only."""
    return host_libraries()


# --- 2. version -----------------------------------------------------------------------------


def check_version(exe: Path) -> str:
    done = _run([str(exe), "--version"], timeout=60)
    info = json.loads((_internal(exe) / "build_info.json").read_text(encoding="utf-8"))
    line = done.stdout.strip()
    if done.returncode != 0 or line != f"hemoscope {info['full_version']}":
        raise CheckFailed(
            f"--version said {line!r} (status {done.returncode}), "
            f"build_info.json {info.get('full_version')!r}"
        )
    return f"{line}, built {info['build_date']}"


def _internal(exe: Path) -> Path:
    inside = exe.parent / "_internal"
    return inside if inside.is_dir() else exe.parent


# --- 3. analyze -------------------------------------------------------------------------


def check_analyze(exe: Path, folder: Path | None, out: Path, work: Path) -> str:
    images, origin = _images(folder, work)
    out.mkdir(parents=True, exist_ok=True)
    frozen_json, source_json = out / "frozen.json", out / "source.json"
    frozen_pdf = out / "frozen.pdf"
    source_cmd = [sys.executable, "-m", "hemoscope.cli"]
    t0 = time.monotonic()
    frozen = _run(
        [str(exe), "analyze", "--quiet", "--json", str(frozen_json), "--pdf", str(frozen_pdf)]
        + [str(image) for image in images]
    )
    t_frozen = time.monotonic() - t0
    source = _run(
        [*source_cmd, "analyze", "--quiet", "--json", str(source_json), *map(str, images)], cwd=ROOT
    )
    for name, done in (("frozen", frozen), ("source", source)):
        if done.returncode != 0:
            raise CheckFailed(f"{name} analyze exited {done.returncode}: {done.stderr[-800:]}")
    a = json.loads(frozen_json.read_text(encoding="utf-8"))
    b = json.loads(source_json.read_text(encoding="utf-8"))
    differences = compare_runs(a, b)
    if differences:
        raise CheckFailed("; ".join(differences[:8]))
    cells = sum(len(image["cells"]) for image in a["images"])
    wbc = sum(1 for image in a["images"] for c in image["cells"] if c["kind"] == "wbc")
    pages = check_report_pdf(frozen_pdf, a)
    return (
        f"{len(images)} {origin} images, {cells} cells ({wbc} WBC): the same as the source "
        f"tree (frozen run {t_frozen:.1f} s); its PDF report: {pages} page(s)"
    )


def check_report_pdf(path: Path, run: dict) -> int:
    """The frozen run's PDF report (Qt's PDF writer, the workstation's fonts) is a PDF
    whose text names the build that wrote it."""
    from pypdf import PdfReader

    if not path.is_file() or not path.read_bytes().startswith(b"%PDF-"):
        raise CheckFailed(f"the frozen analyze wrote no PDF report at {path}")
    reader = PdfReader(str(path))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    version = str(run.get("software", "")).removeprefix("hemoscope ")
    if "Differential" not in text and "differential" not in text:
        raise CheckFailed(f"the frozen PDF report has no differential: {text[:200]!r}")
    if not version or version not in text:
        raise CheckFailed(f"the frozen PDF report does not name its build {version}")
    return len(reader.pages)


def compare_runs(frozen: dict, source: dict) -> list[str]:
    """Differences between two `analyze --json` outputs; empty when they agree."""
    problems = []
    by_file = {Path(i["file"]).name: i for i in source["images"]}
    if len(frozen["images"]) != len(source["images"]):
        problems.append(f"{len(frozen['images'])} images vs {len(source['images'])}")
    for image in frozen["images"]:
        name = Path(image["file"]).name
        other = by_file.get(name)
        if other is None:
            problems.append(f"{name}: only in the frozen run")
            continue
        if image["status"] != other["status"]:
            problems.append(f"{name}: status {image['status']} vs {other['status']}")
        problems += [f"{name}: {p}" for p in compare_cells(image["cells"], other["cells"])]
    return problems


def compare_cells(frozen: list[dict], source: list[dict]) -> list[str]:
    if len(frozen) != len(source):
        return [f"{len(frozen)} cells vs {len(source)}"]
    problems = []
    unmatched = list(source)
    for cell in frozen:
        twin = min(unmatched, key=lambda c: _box_distance(cell["box"], c["box"]))
        unmatched.remove(twin)
        distance = _box_distance(cell["box"], twin["box"])
        same = all(cell.get(k) == twin.get(k) for k in ("kind", "detected_kind", "class"))
        if distance > BOX_TOLERANCE or not same:
            problems.append(
                f"cell {cell['kind']}/{cell.get('class')} at {cell['box']} vs "
                f"{twin['kind']}/{twin.get('class')} at {twin['box']}"
            )
        elif abs(cell["score"] - twin["score"]) > SCORE_TOLERANCE:
            problems.append(f"cell at {cell['box']}: score {cell['score']} vs {twin['score']}")
    return problems


def _box_distance(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def _images(folder: Path | None, work: Path) -> tuple[list[Path], str]:
    if folder is None and REAL_IMAGES.is_dir():
        folder = REAL_IMAGES
    if folder is not None:
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        if not found:
            raise CheckFailed(f"no images in {folder}")
        step = max(1, len(found) // IMAGE_COUNT)  # spread over the set
        origin = "real" if folder == REAL_IMAGES else "given"
        return found[::step][:IMAGE_COUNT], origin
    return simulated_fields(work / "fields", IMAGE_COUNT), "simulated"


def simulated_fields(folder: Path, count: int) -> list[Path]:
    """`count` PNG fields from the simulated microscope (a few seconds apart)."""
    import cv2

    from hemoscope.capture.simulator import SimulatedMicroscope

    folder.mkdir(parents=True, exist_ok=True)
    microscope = SimulatedMicroscope(seed=7, size=(800, 600))
    microscope.open()
    paths = []
    try:
        for i in range(count):
            path = folder / f"field-{i}.png"
            if not cv2.imwrite(str(path), microscope.frame_at(i * 90)):
                raise CheckFailed(f"cannot write {path}")
            paths.append(path)
    finally:
        microscope.close()
    return paths


# --- 4. smoke test ----------------------------------------------------------------------


def check_smoke(exe: Path, platform: str) -> str:
    command = [str(exe), "--smoke-test", "--log-level", "INFO"]
    if platform == "xcb":
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            return "skipped: no xvfb-run here"
        command = [xvfb, "-a", "-s", "-screen 0 1600x1000x24", *command]
    env = {**os.environ, "QT_QPA_PLATFORM": platform}
    t0 = time.monotonic()
    done = _run(command, env=env)
    seconds = time.monotonic() - t0
    log = done.stderr
    if done.returncode != 0 or "smoke test passed" not in log:
        raise CheckFailed(f"exit status {done.returncode}: {log[-1500:]}")
    analysed = "live frames analysed" in log
    return (
        f"window painted, live picture shown{', frames analysed' if analysed else ''}; "
        f"{seconds:.1f} s from start to exit"
    )


def _run(
    command: list[str], *, timeout: int = TIMEOUT_S, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired as error:
        raise CheckFailed(f"{command[0]} ran over {timeout} s") from error


if __name__ == "__main__":
    sys.exit(main())
