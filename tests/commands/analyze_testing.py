"""Helpers for the command tests: a parser with `analyze`, results, where the data are."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hemoscope.commands import analyze

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hemoscope")
    analyze.register(p.add_subparsers())
    return p
