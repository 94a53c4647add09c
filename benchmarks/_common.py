"""Shared helpers for the benchmark scripts: timing statistics, peak memory, and the other
laboratories' labelled cells."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

LABS: tuple[tuple[str, Literal["cells", "fields"]], ...] = (
    ("jiangxi", "cells"),
    ("bionet", "fields"),
)
"""The other laboratories under ``DATA/other-labs``, and what their images are:
single-cell crops, or fields with one labelled white cell."""


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def time_calls(fn: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def summary_ms(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return statistics.median(ms), p95


def other_labs(data: Path) -> Iterator[tuple[str, Literal["cells", "fields"], Path]]:
    """Each laboratory of `LABS` found under ``data/other-labs``: its name, kind and
    folder; a missing one is said and skipped."""
    for name, kind in LABS:
        root = data / "other-labs" / name
        if not root.is_dir():
            print(f"{name}: {root} not found, skipped")
            continue
        yield name, kind, root


def other_labs_found(data: Path) -> list[tuple[str, Literal["cells", "fields"], Path]]:
    """`other_labs` as a list; when none is found, says so on stderr."""
    labs = list(other_labs(data))
    if not labs:
        print(f"no other-labs sets under {data}", file=sys.stderr)
    return labs


def lab_cells(pipeline: Any, root: Path, kind: Literal["cells", "fields"]) -> Any:
    """A laboratory's labelled white cells as ``classify`` (crops) or ``analyze`` (fields)
    frame them (`vision.lab_cells.from_folder`)."""
    from hemoscope.vision.lab_cells import from_folder

    clf = pipeline.classifier
    return from_folder(root, kind, clf, finder=pipeline.detector, pipeline=pipeline)


def set_more_turns(clf: Any, value: str | None) -> None:
    """``--more-turns-below``: the later turns only for crops whose first view is below
    this probability, or for every crop (``every``); None leaves the card's."""
    if value is not None:
        clf.more_turns_below = None if value == "every" else float(value)


def halves_both_ways(n: int, seed: int) -> list[tuple[Any, Any]]:
    """Indices 0..n-1 halved at random (seeded), as (one half, the other) both ways round:
    a bank fitted on one half, the other half scored."""
    order = np.random.default_rng(seed).permutation(n)
    a, b = order[: n // 2], order[n // 2 :]
    return [(a, b), (b, a)]
