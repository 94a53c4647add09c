"""The offline bundle against its targets: size on disk and cold start to the live picture.

    python benchmarks/bench_bundle.py [dist/HemoScope | dist/hemoscope-onefile]
                                      [--runs 3] [--source] [--parts 15]

Size: the bundle's files on disk (allocated blocks, links not followed), target <= 250 MB,
with its largest parts.

Start: ``hemoscope --smoke-test`` of the frozen app (QPA offscreen unless a display is
set), as a user starts it, timed from the moment the process is spawned by the lines the
application logs as it goes: the main window painted, the simulated microscope open, and
"the live picture is shown", which the smoke test logs once a live frame is on screen and
the models have analysed three frames (so the figure is an upper bound of the time to the
first live picture). Target <= 4 s. "Cold": before each run every file of the bundle is
dropped from the page cache (posix_fadvise DONTNEED), as after a reboot, so the run reads
the bundle from disk; "warm": right after another run. ``--source`` times the source tree's
``hemoscope --smoke-test`` the same way, for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"size_mb": 250.0, "start_s": 4.0}
MILESTONES = {
    "painted": "the main window was painted",
    "source open": "Simulated microscope open",
    "live picture": "the live picture is shown",
}


def main() -> int:
    args = parse_args()
    target = args.bundle.resolve()
    exe = target if target.is_file() else target / executable_name()
    if not exe.is_file():
        print(f"no bundle at {target} (run `make bundle`)", file=sys.stderr)
        return 1
    folder = exe.parent if target.is_file() else target
    files = [exe] if target.is_file() else bundle_files(folder)
    on_disk = sum(disk_bytes(p) for p in files)
    shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
    print(
        f"HemoScope bundle benchmark ({shown}, {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  size on disk: {on_disk / 1e6:.0f} MB = {on_disk / 2**20:.0f} MiB "
        f"({len(files)} files)   target <= {TARGETS['size_mb']:.0f} MB: "
        f"{verdict(on_disk / 1e6 <= TARGETS['size_mb'])}"
    )
    if not target.is_file():
        print("  by package:")
        for name, size in by_package(folder, files)[: args.parts]:
            print(f"    {size / 1e6:7.1f} MB  {name}")
        print("  largest files:")
        for path in sorted(files, key=disk_bytes, reverse=True)[: args.parts]:
            print(f"    {disk_bytes(path) / 1e6:7.1f} MB  {path.relative_to(folder).as_posix()}")

    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [str(exe), "--smoke-test", "--log-level", "INFO"]
    cold = [timed_start(command, env, evict=files) for _ in range(args.runs)]
    warm = [timed_start(command, env, evict=None) for _ in range(args.runs)]
    print(
        f"  start, QPA {env.get('QT_QPA_PLATFORM', 'default')} "
        f"(median of {args.runs}; live picture target <= {TARGETS['start_s']:.0f} s):"
    )
    report("frozen, cold", cold, check=True)
    report("frozen, warm", warm)
    if args.source:
        source = [str(Path(sys.executable).parent / "hemoscope"), *command[1:]]
        runs = [timed_start(source, env, evict=None) for _ in range(args.runs)]
        report("source tree, warm", runs)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "bundle",
        nargs="?",
        type=Path,
        default=ROOT / "dist" / "HemoScope",
        help="the bundle folder, or a one-file executable",
    )
    parser.add_argument("--runs", type=int, default=3, help="starts of each kind")
    parser.add_argument("--source", action="store_true", help="also time the source tree")
    parser.add_argument("--parts", type=int, default=12, help="how many parts and files to list")
    return parser.parse_args()


def executable_name() -> str:
    return "hemoscope.exe" if sys.platform == "win32" else "hemoscope"


def bundle_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def disk_bytes(path: Path) -> int:
    stat = path.lstat()
    blocks = getattr(stat, "st_blocks", None)
    return blocks * 512 if blocks is not None else stat.st_size


def by_package(folder: Path, files: list[Path]) -> list[tuple[str, int]]:
    """Bytes on disk per top-level folder of the bundle, largest first; the libraries
    beside them (Python, the system libraries it brings) count as one part."""
    internal = folder / "_internal" if (folder / "_internal").is_dir() else folder
    parts: dict[str, int] = {}
    for path in files:
        try:
            first = path.relative_to(internal).parts[0]
            key = first if (internal / first).is_dir() else "libraries at the top (Python, system)"
        except ValueError:
            key = "the executable and files beside it"
        parts[key] = parts.get(key, 0) + disk_bytes(path)
    return sorted(parts.items(), key=lambda item: -item[1])


def evict(files: list[Path]) -> None:
    """Drop `files` from the page cache (Linux; elsewhere nothing happens)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def timed_start(
    command: list[str], env: dict[str, str], evict: list[Path] | None
) -> dict[str, float]:
    """Seconds from spawning `command` to each milestone line, and to its exit."""
    if evict is not None:
        globals()["evict"](evict)
    seen: dict[str, float] = {}
    t0 = time.monotonic()
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            now = time.monotonic() - t0
            log.append(line)
            for name, text in MILESTONES.items():
                if name not in seen and text in line:
                    seen[name] = now

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    status = process.wait(timeout=120)
    seen["exit"] = time.monotonic() - t0
    reader.join(timeout=10)
    if status != 0 or "live picture" not in seen:
        sys.stderr.write("".join(log[-30:]))
        raise SystemExit(f"{command[0]} --smoke-test failed (exit status {status})")
    return seen


def report(label: str, runs: list[dict[str, float]], check: bool = False) -> None:
    median = {k: statistics.median(r[k] for r in runs) for k in (*MILESTONES, "exit")}
    worst = max(r["live picture"] for r in runs)
    line = (
        f"    {label:<18} painted {median['painted']:.2f} s, source open "
        f"{median['source open']:.2f} s, live picture {median['live picture']:.2f} s "
        f"(worst {worst:.2f} s), exit {median['exit']:.2f} s"
    )
    if check:
        line += f"   {verdict(median['live picture'] <= TARGETS['start_s'])}"
    print(line)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
