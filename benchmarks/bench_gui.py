"""The microscope station against its targets, driving the real window.

    python benchmarks/bench_gui.py [--models shipped|tiny|fake] [--fake-ms 80]
                                   [--seconds 10] [--cycles 8] [--threads N]

What it does, in one process, as the application does it:

1. Start: from the first line of this script to the first live frame on screen, with the
   simulated microscope opened in the background (`BestSourceOpener`, no camera probing)
   and the models loading on the inference thread. Target <= 3 s.
2. Streaming for ``--seconds``: frames shown per second from the 30 FPS simulated source
   (target >= 25) while the models analyse the newest frame; overlay lag, from a frame's
   arrival to its cells drawn over the picture (target <= 150 ms); inference time.
3. Capture and correction, ``--cycles`` times: Space (capture), Right (select a cell),
   a class key (relabel), Delete, Ctrl+Z, Esc (back to live), with the case saved in a
   temporary case database (images written on a worker thread, one SQLite transaction
   per action).

4. The cell map: the Cell map tab raised on the case captured, the time until its cells
   are drawn (target <= 500 ms; the projection runs on Qt's pool) and pan and zoom steps
   painted at once (1,000 cells: `benchmarks/bench_cellmap.py`).

Throughout, a 5 ms heartbeat timer measures how long the event loop was blocked: the
longest gap between two ticks minus 5 ms (target <= 50 ms) in each phase.

Models: ``shipped`` loads models/*.onnx; ``tiny`` exports the small random test models
(needs torch; tests/commands/tiny_models.py); ``fake`` stands in for the models with a
pipeline that sleeps ``--fake-ms`` (the sleep releases the GIL like ONNX Runtime does)
and returns fixed cells. The default is ``shipped`` when models/detector.onnx exists,
else ``tiny`` when torch is installed, else ``fake``.
"""

from __future__ import annotations

import time

T_START = time.monotonic()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"start_s": 3.0, "fps": 25.0, "lag_ms": 150.0, "blocked_ms": 50.0}


def main() -> int:
    args = parse_args()
    if not os.environ.get("DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QElapsedTimer, QTimer

    from hemoscope.capture.simulator import SimulatedMicroscope
    from hemoscope.store import CaseStore
    from hemoscope.ui.app import create_application, inference_threads
    from hemoscope.ui.case.case_backend import StoreBackend
    from hemoscope.ui.live.capture_sources import BestSourceOpener
    from hemoscope.ui.main_window import MainWindow
    from hemoscope.ui.settings.settings_store import SettingsStore

    app = create_application()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    backend = StoreBackend(tmp / "cases.db", operator="bench")
    t_models = time.monotonic()
    factory, kind = pipeline_factory(args, inference_threads(args.threads))
    global T_START
    T_START += time.monotonic() - t_models  # exporting test models is not the app's start
    window = MainWindow(
        pipeline_factory=factory,
        backend=backend,
        settings=SettingsStore.at(tmp / "settings.ini"),
        error_reporter=lambda failures: None,
    )
    window.resize(1600, 1000)
    window.show()
    window.activateWindow()  # window shortcuts (Space, the class keys) need an active window
    window.raise_()
    window.open_source_in_background(
        BestSourceOpener(open_source=lambda: opened(SimulatedMicroscope()), parent=window)
    )

    beat = Heartbeat(QTimer, QElapsedTimer)
    wait = Waiter(app)
    try:
        figures = measure(window, beat, wait, args)
    finally:
        window.close()  # writes what is queued and closes the case database
    with CaseStore.open(tmp / "cases.db") as store:  # a second connection reads it back
        case = window.workspace.case
        saved = 0 if case is None else len(store.load_case(case.id).fields)
    figures = [line.replace("{saved}", str(saved)) for line in figures]
    load = os.getloadavg()[0]
    print(
        f"HemoScope station benchmark ({kind} models, {os.cpu_count()} CPU cores, "
        f"QPA {app.platformName()}, load average {load:.1f})"
    )
    for line in figures:
        print(line)
    return 0


def measure(window: Any, beat: Heartbeat, wait: Waiter, args: Any) -> list[str]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    lines = []
    # 1. start to live picture
    wait.until(lambda: window.live.shown_count > 0, 15, "the first live frame")
    start_s = time.monotonic() - T_START
    wait.until(lambda: window.worker.state in ("ready", "unavailable"), 60, "the models")
    if window.worker.state != "ready":
        lines.append(f"  models: {window.status.models_label.toolTip()}")
    else:
        wait.until(lambda: window.worker.analysed >= 3, 30, "three analysed frames")

    # 2. streaming
    window.live.lags_ms.clear()
    shown0, analysed0, t0 = window.live.shown_count, window.worker.analysed, time.monotonic()
    beat.reset()
    wait.seconds(args.seconds)
    span = time.monotonic() - t0
    fps = (window.live.shown_count - shown0) / span
    rate = (window.worker.analysed - analysed0) / span
    status = window.live.status()
    source_fps = status.fps if status is not None else 0.0
    lags = sorted(window.live.lags_ms)
    latest = window.live.latest
    stream_blocked, stream_p99, stream_busy = (
        beat.blocked_ms(),
        beat.percentile_ms(99),
        beat.busy_ms(),
    )

    # 3. capture and correction
    beat.reset()
    captures: list[float] = []  # Space -> field in the case (written on the store's thread)
    keys: list[float] = []  # a correction key, handled (saved, redrawn)
    view = window.view

    def fresh() -> bool:
        result = window.live.latest
        return result is not None and window.workspace.field(result.field.id) is None

    for _ in range(args.cycles):
        wait.until(fresh, 10, "a frame not captured yet")
        t = time.monotonic()
        before = fields_in(window)
        QTest.keyClick(view, Qt.Key.Key_Space)
        wait.until(lambda n=before: fields_in(window) > n, 10, "the capture")
        captures.append(time.monotonic() - t)
        for key, mods in (
            (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier),  # select a cell
            (Qt.Key.Key_2, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
        ):
            t = time.monotonic()
            QTest.keyClick(view, key, mods)
            keys.append(time.monotonic() - t)
            wait.seconds(0.05)
        # Back to the live picture (Space would capture the next field once no cell
        # awaits review).
        QTest.keyClick(view, Qt.Key.Key_Escape)
        wait.seconds(0.3)
    capture_blocked, capture_busy = beat.blocked_ms(), beat.busy_ms()
    case = window.workspace.case
    fields = 0 if case is None else len(case.fields)
    map_lines = cell_map_phase(window, beat, wait, case)

    lines.append(report("start to live picture", start_s, "s", TARGETS["start_s"], True))
    extra = f"source delivers {source_fps:.1f} FPS"
    lines.append(report("frames shown per second", fps, "FPS", TARGETS["fps"], False, extra))
    if lags:
        extra = f"p95 {pct(lags, 95):.0f} ms, {len(lags)} results drawn"
        median = statistics.median(lags)
        lines.append(report("overlay lag (median)", median, "ms", TARGETS["lag_ms"], True, extra))
    if latest is not None:
        lines.append(
            f"  inference: {latest.elapsed_s * 1000:.0f} ms per frame (latest), {rate:.1f} "
            f"frames analysed per second, {window.worker.dropped} stale frames dropped"
        )
    extra = f"p99 gap {stream_p99:.0f} ms; GUI thread busy at most {stream_busy:.0f} ms CPU"
    name = "event loop blocked, streaming (max)"
    lines.append(report(name, stream_blocked, "ms", TARGETS["blocked_ms"], True, extra))
    extra = (
        f"GUI thread busy at most {capture_busy:.0f} ms CPU; "
        f"{fields} fields captured, {{saved}} in the database; Space to captured field "
        f"{statistics.median(captures) * 1000:.0f} ms median; correction keys "
        f"{statistics.median(keys) * 1000:.0f} ms median, {max(keys) * 1000:.0f} ms max"
    )
    name = "event loop blocked, capture + corrections (max)"
    lines.append(report(name, capture_blocked, "ms", TARGETS["blocked_ms"], True, extra))
    return lines + map_lines


def cell_map_phase(window: Any, beat: Heartbeat, wait: Waiter, case: Any) -> list[str]:
    """4. The Cell map tab brought up on the case just captured: time until its cells are
    drawn (the projection runs on Qt's pool), the event loop meanwhile, and zoom and pan
    steps each painted at once. 1,000 cells: `benchmarks/bench_cellmap.py`."""
    fields = case.fields if case is not None else ()
    if not any(c.embedding is not None for f in fields for c in f.cells):
        return ["  cell map: no cell carries an embedding (these models give none)"]
    view = window.cell_map.view
    beat.reset()
    t = time.monotonic()
    window.cell_map_dock.show()
    window.cell_map_dock.raise_()
    wait.until(lambda: len(view.xy) > 0, 10, "the cell map")
    shown_s = time.monotonic() - t
    blocked = beat.blocked_ms()
    steps: list[float] = []
    for i in range(40):
        t = time.perf_counter()
        if i % 2:
            view.box.translateBy(x=0.05, y=-0.03)
        else:
            view.box.scaleBy((0.97, 0.97))
        view.viewport().repaint()
        steps.append((time.perf_counter() - t) * 1000)
    return [
        report("cell map shown (tab raised to drawn)", shown_s * 1000, "ms", 500, True,
               f"{len(view.xy)} cells; event loop blocked {blocked:.0f} ms at most"),
        f"  cell map pan/zoom step: {statistics.median(steps):.1f} ms median, "
        f"{max(steps):.1f} ms worst",
    ]  # fmt: skip


class Heartbeat:
    """A 5 ms timer; the gaps between its ticks say how long the event loop was blocked.

    Each gap is also measured in CPU time of the GUI thread (`time.thread_time`): on a
    loaded machine a long wall-clock gap may be the process waiting for a core (other
    programs, the inference and capture threads holding the GIL), not the GUI thread
    working; a long CPU gap is the GUI thread itself busy.
    """

    INTERVAL_MS = 5

    def __init__(self, timer_type: type, elapsed_type: type) -> None:
        from PySide6.QtCore import Qt

        self._clock = elapsed_type()
        self._clock.start()
        self._gaps: list[float] = []
        self._cpu: list[float] = []
        self._last = self._clock.nsecsElapsed()
        self._last_cpu = time.thread_time()
        self._timer = timer_type()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start(self.INTERVAL_MS)

    def _tick(self) -> None:
        now, cpu = self._clock.nsecsElapsed(), time.thread_time()
        self._gaps.append((now - self._last) / 1e6)
        self._cpu.append((cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu

    def reset(self) -> None:
        self._gaps.clear()
        self._cpu.clear()
        self._last = self._clock.nsecsElapsed()
        self._last_cpu = time.thread_time()

    def blocked_ms(self) -> float:
        return max(0.0, max(self._gaps, default=0.0) - self.INTERVAL_MS)

    def busy_ms(self) -> float:
        """The most CPU time the GUI thread spent between two ticks."""
        return max(self._cpu, default=0.0)

    def percentile_ms(self, q: float) -> float:
        return pct(sorted(self._gaps), q) if self._gaps else 0.0


class Waiter:
    """Runs the real event loop (a QEventLoop) until a condition holds or time is up."""

    def __init__(self, app: object) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        self._loop_type, self._timer_type = QEventLoop, QTimer

    def until(self, condition: Callable[[], bool], timeout_s: float, what: str = "") -> None:
        if condition():
            return
        loop = self._loop_type()
        deadline = time.monotonic() + timeout_s
        poll = self._timer_type()

        def check() -> None:
            if condition() or time.monotonic() > deadline:
                loop.quit()

        poll.timeout.connect(check)
        poll.start(10)
        loop.exec()
        poll.stop()
        if not condition():
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what or 'the station'}")

    def seconds(self, span: float) -> None:
        loop = self._loop_type()
        self._timer_type.singleShot(round(span * 1000), loop.quit)
        loop.exec()


def opened(source: object) -> object:
    source.open()  # type: ignore[attr-defined]
    return source


def pipeline_factory(args: argparse.Namespace, threads: int) -> tuple[Callable[[], object], str]:
    kind = args.models
    if kind is None:
        if (ROOT / "models" / "detector.onnx").is_file():
            kind = "shipped"
        else:
            try:
                import torch  # noqa: F401

                kind = "tiny"
            except ImportError:
                kind = "fake"
    if kind == "shipped":
        from hemoscope.vision.pipeline import Pipeline

        return (lambda: Pipeline.load(threads=threads)), kind
    if kind == "tiny":
        sys.path.insert(0, str(ROOT / "tests" / "commands"))
        from tiny_models import tiny_models

        from hemoscope.vision.pipeline import Pipeline

        detector, classifier = tiny_models(Path(tempfile.mkdtemp(prefix="tiny-models-")))
        return (lambda: Pipeline.load(detector, classifier, threads=threads)), kind
    return (lambda: SleepyPipeline(args.fake_ms / 1000)), f"fake ({args.fake_ms:g} ms)"


class SleepyPipeline:
    """Stands in for the models: sleeps (GIL released), then a few fixed cells."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def analyze(self, frame: object, *, source: str = "") -> object:
        from hemoscope.core import Box, Cell, CellKind, Field

        time.sleep(self.delay_s)
        h, w = frame.shape[:2]  # type: ignore[attr-defined]
        cells = [
            Cell.create(
                Box(x, 100, x + 60, 160), CellKind.WBC, auto_class=c, probability=p, review=p < 0.6
            )
            for x, c, p in (
                (80, "neutrophil", 0.95),
                (300, "lymphocyte", 0.9),
                (480, "monocyte", 0.4),
            )
        ]
        cells += [Cell.create(Box(x, 300, x + 50, 350), CellKind.RBC) for x in range(40, 600, 70)]
        return Field.create(cells, w, h, source)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def fields_in(window: Any) -> int:
    case = window.workspace.case
    return 0 if case is None else len(case.fields)


def report(name: str, value: float, unit: str, target: float, below: bool, extra: str = "") -> str:
    ok = value <= target if below else value >= target
    sign = "<=" if below else ">="
    more = f"  ({extra})" if extra else ""
    verdict = "OK" if ok else "MISSED"
    return f"  {name}: {value:.2f} {unit}  target {sign} {target:g}  {verdict}{more}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", choices=("shipped", "tiny", "fake"))
    parser.add_argument("--fake-ms", type=float, default=80.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: auto)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
