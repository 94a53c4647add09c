"""Shared test set-up.

Qt runs headless (offscreen) unless QT_QPA_PLATFORM says otherwise; this is set before
anything imports Qt. The `no_thread_leaks` fixture fails a test that leaves threads
running; tests/ui and tests/capture use it for every test, other suites may ask for it
with ``@pytest.mark.usefixtures("no_thread_leaks")``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LEAK_GRACE_S = 5.0
_TASKS = Path("/proc/self/task")
# Idle threads of Qt's global pool (Qt scales and paints images with it) live on for
# 30 s after their last job; they are not leaks. Busy ones are counted separately.
# (A QThreadPool of our own must have an objectName, which names its threads.)
QT_GLOBAL_POOL_THREAD = "Thread (pooled)"


def _python_threads() -> dict[int, str]:
    """Live Python threads (foreign threads that merely ran Python code excluded)."""
    return {
        t.ident: t.name
        for t in threading.enumerate()
        if t.ident is not None and not isinstance(t, threading._DummyThread)
    }


def _named_os_threads() -> dict[int, str]:
    """OS threads (Linux) that carry a name of their own, as Qt's threads do ("QThread",
    the objectName of a thread pool); unnamed threads share the process's name and are
    left out, so worker pools of numerical libraries do not count."""
    if not _TASKS.is_dir():
        return {}
    threads: dict[int, str] = {}
    for task in _TASKS.iterdir():
        try:
            threads[int(task.name)] = (task / "comm").read_text().strip()
        except (OSError, ValueError):
            continue  # it ended while we looked
    process_name = threads.get(os.getpid(), "")
    ignored = {process_name, QT_GLOBAL_POOL_THREAD}
    return {tid: name for tid, name in threads.items() if name not in ignored}


def _qt_pool_active() -> int:
    """Busy threads in Qt's global pool, if Qt is loaded and an application exists."""
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is None or qtcore.QCoreApplication.instance() is None:
        return 0
    return int(qtcore.QThreadPool.globalInstance().activeThreadCount())


def _process_qt_events() -> None:
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None and qtcore.QCoreApplication.instance() is not None:
        qtcore.QCoreApplication.processEvents()


@pytest.fixture
def no_thread_leaks() -> Iterator[None]:
    """Fail the test if threads it started are still running when it ends.

    Compares Python threads, named OS threads (QThreads and Qt pool threads) and the
    number of busy threads in Qt's global pool before and after the test, giving
    threads `LEAK_GRACE_S` seconds to wind down.
    """
    python_before = _python_threads()
    os_before = _named_os_threads()
    pool_before = _qt_pool_active()
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        _process_qt_events()
        leaks = [
            f"Python thread {name!r}"
            for ident, name in _python_threads().items()
            if ident not in python_before
        ]
        leaks += [
            f"OS thread {name!r} (tid {tid})"
            for tid, name in _named_os_threads().items()
            if tid not in os_before
        ]
        busy = _qt_pool_active() - pool_before
        if busy > 0:
            leaks.append(f"{busy} busy thread(s) in QThreadPool.globalInstance()")
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if leaks:
        pytest.fail("the test left threads running: " + "; ".join(leaks), pytrace=False)
