"""One persistent inference worker: latest frame only, results by signal.

`InferenceWorker` owns a QThread that first loads the pipeline (the models; this takes
seconds, so the window is up and the live picture runs meanwhile), then waits for frames.
`submit` leaves a frame in a one-slot mailbox; a frame submitted while another waits
replaces it (the stale one is dropped and counted). The thread always analyses the newest
frame and emits `result`, at most `max_rate` times a second; the GUI thread never runs a
model.

Cooperative abort (`abort`): the waiting frame is dropped and the result of the frame
being analysed now is discarded when it comes back (ONNX Runtime cannot be interrupted
mid-call), e.g. when the technician switches sources. `shutdown` aborts, stops the loop
and joins the thread.

With ``force_sync=True`` (tests, like superqt's ``thread_worker(..., start_thread=False)``)
no thread is made: the pipeline is loaded in `start` and each `submit` analyses at once
on the caller's thread, emitting `result` before it returns.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, Signal

from hemoscope.core import STANDARD_SENSITIVITY, Field
from hemoscope.ui.live.frames import StampedFrame

__all__ = ["Analyzer", "InferenceResult", "InferenceWorker", "model_versions"]

log = logging.getLogger(__name__)


MAX_RATE = 15.0
"""Analyses per second at most: an overlay redrawn 15 times a second looks live, and a
fast model analysing all 30 frames would take a core the GUI and the camera need."""


class Analyzer(Protocol):
    """What the worker needs from a pipeline (`hemoscope.vision.Pipeline` is one)."""

    def analyze(self, frame: Any, *, source: str = "") -> Field: ...


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """The field found in `frame`, how long the analysis took, when it finished, and the
    worker's generation when the frame was taken (see `InferenceWorker.abort`)."""

    frame: StampedFrame
    field: Field
    elapsed_s: float
    done_t: float
    generation: int = 0


def model_versions(pipeline: object) -> str:
    """ "detector x, classifier y" from the model cards, or "" when there are none."""
    cards_of = getattr(pipeline, "model_cards", None)
    if not callable(cards_of):
        return ""
    parts = []
    for role, card in cards_of().items():
        if card:
            name = card.get("name", role)
            version = card.get("version")
            parts.append(f"{name} {version}" if version else str(name))
    sensitivity = getattr(pipeline, "sensitivity", STANDARD_SENSITIVITY)
    if sensitivity != STANDARD_SENSITIVITY:
        parts.append(f"review sensitivity {sensitivity}")
    return ", ".join(parts)


class InferenceWorker(QObject):
    """See the module documentation. States: "idle", "loading", "ready", "unavailable"."""

    ready = Signal(str)  # model versions, once the pipeline is loaded
    unavailable = Signal(str)  # why there is no pipeline ("models not available: ...")
    result = Signal(object)  # InferenceResult
    failed = Signal(str)  # a frame could not be analysed (the worker goes on)

    def __init__(
        self,
        *,
        pipeline: Analyzer | None = None,
        pipeline_factory: Callable[[], Analyzer] | None = None,
        force_sync: bool = False,
        max_rate: float = MAX_RATE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.min_interval_s = 1.0 / max_rate if max_rate > 0 else 0.0
        self._pipeline = pipeline
        self._factory = pipeline_factory
        self.force_sync = force_sync
        self.state = "idle"
        self.versions = ""
        self.cards: dict[str, Any] = {}  # role -> model card, once loaded (the report's)
        self.dropped = 0  # frames replaced before they could be analysed
        self.analysed = 0
        self._cond = threading.Condition()
        self._pending: StampedFrame | None = None
        self._generation = 0
        self._stopping = False
        self._thread: _WorkerThread | None = None

    # -- control (GUI thread) ----------------------------------------------------------
    def start(self) -> None:
        """Load the pipeline (on the worker thread) and start taking frames."""
        if self.state != "idle":
            return
        if self._pipeline is None and self._factory is None:
            self._set_unavailable("no models were given to the application")
            return
        self.state = "loading"
        if self.force_sync:
            self._load()
            return
        self._thread = _WorkerThread(self)
        self._thread.setObjectName("hemoscope-inference")
        self._thread.start(QThread.Priority.LowPriority)

    def submit(self, frame: StampedFrame) -> None:
        """Analyse `frame` when the worker is free; replaces a frame still waiting."""
        if self.state not in ("loading", "ready"):
            return
        if self.force_sync:
            if self.state == "ready":
                self._analyse(frame, self._generation)
            return
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            self._pending = frame
            self._cond.notify()

    def abort(self) -> int:
        """Drop the waiting frame and discard the result of the one being analysed; the
        new generation (results of earlier ones, already on their way, carry theirs)."""
        with self._cond:
            self._pending = None
            self._generation += 1
            return self._generation

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and join its thread; False if it did not end in time."""
        with self._cond:
            self._stopping = True
            self._pending = None
            self._generation += 1
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        done = bool(thread.wait(timeout_ms))
        if not done:
            log.error("the inference thread did not stop within %d ms", timeout_ms)
        return done

    def set_lab_profile(self, profile: object | None) -> None:
        """Have the loaded pipeline use a laboratory profile (`vision.lab_profile`; None:
        the shipped model) from the next frame on, and announce the models again
        (`ready`: the status bar and the report name them). Raises ``ProfileError`` for
        a profile made for other models, ``RuntimeError`` before the models are loaded."""
        self._reconfigure("set_profile", profile)

    def set_sensitivity(self, sensitivity: str) -> None:
        """Have the loaded pipeline flag unfamiliar cells at another review sensitivity
        (`vision.unfamiliar`) from the next frame on, and announce the models again.
        Raises ``ModelError`` for a level the classifier has no threshold for,
        ``RuntimeError`` before the models are loaded."""
        self._reconfigure("set_sensitivity", sensitivity)

    def _reconfigure(self, setter_name: str, value: object) -> None:
        """Call the loaded pipeline's ``setter_name(value)`` (it takes effect from the next
        frame, under the pipeline's lock), then announce the models as they now are."""
        setter = getattr(self._pipeline, setter_name, None)
        if self.state != "ready" or not callable(setter):
            raise RuntimeError("the models are not loaded")
        setter(value)
        self.versions = model_versions(self._pipeline)
        cards_of = getattr(self._pipeline, "model_cards", None)
        self.cards = dict(cards_of()) if callable(cards_of) else {}
        self.ready.emit(self.versions)

    @property
    def lab_profile_card(self) -> dict[str, Any] | None:
        """The laboratory profile among the models announced (`LabProfile.card`), or None:
        none in use, including one chosen in Settings that the models refused."""
        from hemoscope.vision.lab_profile import PROFILE_ROLE

        card = self.cards.get(PROFILE_ROLE)
        return dict(card) if card is not None else None

    @property
    def classifier(self) -> object | None:
        """The loaded pipeline's classifier (for a cell drawn by hand), or None."""
        return getattr(self._pipeline, "classifier", None) if self.state == "ready" else None

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None

    # -- the worker thread ---------------------------------------------------------------
    def _loop(self) -> None:
        if not self._load():
            return
        next_start = 0.0
        while True:
            with self._cond:
                # Wait for a frame, and for the rate limit: the frame taken is the newest
                # one when the worker is due, so the limit does not make the cells older.
                while not self._stopping and (
                    self._pending is None or time.monotonic() < next_start
                ):
                    timeout = None if self._pending is None else next_start - time.monotonic()
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                frame, self._pending = self._pending, None
                generation = self._generation
            assert frame is not None
            next_start = time.monotonic() + self.min_interval_s
            self._analyse(frame, generation)

    def _load(self) -> bool:
        if self._pipeline is None:
            assert self._factory is not None
            try:
                self._pipeline = self._factory()
            except Exception as error:  # ModelError, or an ONNX Runtime failure
                log.warning("models not available: %s", error)
                self._set_unavailable(str(error))
                return False
        self.versions = model_versions(self._pipeline)
        cards_of = getattr(self._pipeline, "model_cards", None)
        self.cards = dict(cards_of()) if callable(cards_of) else {}
        self.state = "ready"
        self.ready.emit(self.versions)
        return True

    def _set_unavailable(self, reason: str) -> None:
        self.state = "unavailable"
        self.unavailable.emit(f"models not available: {reason}")

    def _analyse(self, frame: StampedFrame, generation: int) -> None:
        assert self._pipeline is not None
        t0 = time.monotonic()
        try:
            field = self._pipeline.analyze(frame.image, source=frame.source)
        except Exception as error:
            log.exception("analysing frame %d failed", frame.seq)
            self.failed.emit(f"analysis failed: {error}")
            return
        done = time.monotonic()
        with self._cond:
            current = generation == self._generation
        if current:
            self.analysed += 1
            self.result.emit(InferenceResult(frame, field, done - t0, done, generation))


class _WorkerThread(QThread):
    def __init__(self, worker: InferenceWorker) -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        _lower_priority()
        self._worker._loop()


NICE_STEP = 5


def _lower_priority() -> None:
    """The picture and the keyboard come before the models: on a busy machine the
    scheduler runs the GUI and capture threads first. (Linux sets a nice value per
    thread; elsewhere Qt's thread priority does it, set by `start`.)"""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:
        return
    try:
        tid = threading.get_native_id()
        setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICE_STEP)
    except OSError as error:
        log.debug("could not lower the inference thread's priority: %s", error)
