"""Crash safety: a process running the station's case layer (the window's `CaseWorkspace`
over `StoreBackend`, its writer thread and queue) is killed (SIGKILL) at random moments
while it captures and corrects; every acknowledged action must be in the database,
which stays sound."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_crash_driver import digest

from hemoscope.store import CaseStore

DRIVER = Path(__file__).with_name("store_crash_driver.py")
ROOT = Path(__file__).resolve().parents[2]
KILLS = 5

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")]


def _run_and_kill(db: Path, seed: int, delay: float, log: Path) -> list[list[str]]:
    """Start the driver, let it work ``delay`` s after it is ready, kill it; its lines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), str(db), str(seed)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 60
        try:
            while not log.read_text().startswith("START") or "\n" not in log.read_text():
                assert proc.poll() is None, f"driver ended early: {log.read_text()}"
                assert time.monotonic() < deadline, "driver did not start"
                time.sleep(0.02)
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines = [line.split() for line in log.read_text().splitlines()]
    return [words for words in lines if words and words[0] in ("START", "ACK")]


def test_killed_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    rng = random.Random()
    seed0 = rng.getrandbits(32)
    delays = [rng.uniform(0.05, 0.8) for _ in range(KILLS)]
    context = f"seed {seed0}, delays {[round(d, 3) for d in delays]}"
    expected_digest: str | None = None
    total_acks = 0
    for run, delay in enumerate(delays):
        lines = _run_and_kill(db, seed0 + run, delay, tmp_path / f"run{run}.log")
        start, acks = lines[0], [w for w in lines[1:] if w[0] == "ACK"]
        if expected_digest is not None:
            assert start[1] == expected_digest, f"run {run} started elsewhere ({context})"
        total_acks += len(acks)
        with CaseStore.open(db, integrity="full") as store:
            assert store.integrity_check("full") == [], context
            (summary,) = store.list_cases()
            trail = {r.seq: r for r in store.audit_trail(summary.id)}
            for _, action, first, last_of_action, fid, cid, new, _ in acks:
                record = trail[int(first)]  # the acknowledged action is there
                span = [trail[s] for s in range(int(first), int(last_of_action) + 1)]
                assert {r.at for r in span} == {record.at}, context  # one transaction
                kind = "undo:" if action == "undo" else action
                assert record.action.startswith(kind), (record, context)
                if action != "undo":
                    assert (record.field_id, record.cell_id or "-") == (fid, cid), context
                    assert (record.new_class or "-") == new, context
                if action == "add-field":
                    sha = store.field_image_sha(summary.id, fid)
                    assert sha is not None and store.images.get(sha).shape == (60, 80, 3)
            last = int(acks[-1][3]) if acks else int(start[2])
            later = {r.at for s, r in trail.items() if s > last}
            assert len(later) <= 1, f"more than one unacknowledged action ({context})"
            case = store.load_case(summary.id)
            if not later:  # nothing committed after the last acknowledgement
                acked = acks[-1][7] if acks else start[1]
                assert digest(case) == acked, context
            expected_digest = digest(case)
    assert total_acks >= KILLS, f"too few actions to test anything ({context})"
