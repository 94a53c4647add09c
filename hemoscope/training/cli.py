"""Argument parsing for the training commands (``hemoscope train ...``).

Shared by the ``hemoscope`` console script and ``python -m hemoscope.training`` so
that every model card can name one exact command.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def add_classifier_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, type=Path, help="ImageFolder tree of single-cell images"
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, logs, ONNX)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--limit-per-class", type=int, default=0, help="use only N images per class (smoke tests)"
    )


def run_classifier(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.train_classifier import ClassifierTrainConfig, train

    cfg = ClassifierTrainConfig(
        data=str(args.data),
        out=str(args.out),
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        limit_per_class=args.limit_per_class,
    )
    train(cfg)
    from hemoscope.training.export_classifier import finalise

    finalise(Path(args.out), cfg, command)
    return 0


def add_detector_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        help="YOLO-layout folder (images/train, labels/train, .../val)",
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, logs, ONNX)")
    p.add_argument("--epochs", type=int, default=140)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use only the first N images of each split (smoke tests)",
    )


def run_detector(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.train_detector import DetectorTrainConfig, train

    cfg = DetectorTrainConfig(
        data=str(args.data),
        out=str(args.out),
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        limit=args.limit,
    )
    train(cfg)
    from hemoscope.training.export_detector import finalise

    finalise(Path(args.out), cfg, command)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("classifier", help="train the white-cell classifier")
    add_classifier_args(p)
    p.set_defaults(run=run_classifier)
    p = sub.add_parser("detector", help="train the cell detector (WBC, RBC, platelets)")
    add_detector_args(p)
    p.set_defaults(run=run_detector)


def main(argv: list[str] | None = None) -> int:
    import shlex
    import sys

    parser = argparse.ArgumentParser(prog="python -m hemoscope.training")
    sub = parser.add_subparsers(dest="model", required=True)
    register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    argv_list = sys.argv[1:] if argv is None else argv
    command = "python -m hemoscope.training " + " ".join(shlex.quote(a) for a in argv_list)
    return int(args.run(args, command))
