"""Argument parsing for the training commands (``hemoscope train ...``).

Shared by the ``hemoscope`` console script and ``python -m hemoscope.training`` so
that every model card can name one exact command.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _add_run_args(p: argparse.ArgumentParser, data_help: str, epochs: int, batch: int) -> None:
    """The arguments every training run takes."""
    p.add_argument("--data", required=True, type=Path, help=data_help)
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, logs, ONNX)")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--init",
        type=Path,
        help="start from these weights: a run's best.pt, or (classifier) a shipped .onnx "
        "(its folded BatchNorms imported; implies --freeze-norm)",
    )


def add_classifier_args(p: argparse.ArgumentParser) -> None:
    _add_run_args(p, "ImageFolder tree of single-cell images", epochs=40, batch=64)
    p.add_argument(
        "--limit-per-class", type=int, default=0, help="use only N images per class (smoke tests)"
    )
    p.add_argument(
        "--tight-views",
        type=float,
        default=0.0,
        help="share of training views taken from images cut tighter around the cell",
    )
    p.add_argument(
        "--norm", choices=("batch", "group"), default="batch", help="normalisation layers"
    )
    p.add_argument(
        "--augment",
        choices=("pbc", "wide", "optics"),
        default="pbc",
        help="photometric augmentation: PBC's own variation, other laboratories' (wide), or "
        "PBC's colours with other laboratories' blur, noise and resolution (optics)",
    )
    p.add_argument(
        "--freeze-norm",
        action="store_true",
        help="keep the BatchNorm statistics fixed while training (fine-tuning)",
    )
    p.add_argument(
        "--standardise",
        action="store_true",
        help="render every crop with the run-time colour standardisation (vision.stain)",
    )
    p.add_argument(
        "--colour",
        choices=("rgb", "grey"),
        default="rgb",
        help="what the network sees: the colour crop, or its luminance only (grey)",
    )
    p.add_argument(
        "--domains",
        type=Path,
        help="unlabelled white cells of other laboratories, one sub-folder each "
        "(pseudo-labels --domains-only): domain-adversarial training",
    )
    p.add_argument(
        "--domain-weight",
        type=float,
        default=0.3,
        help="final weight of the domain loss (with --domains)",
    )
    p.add_argument(
        "--domain-loss",
        choices=("confuse", "reverse"),
        default="confuse",
        help="how the network hides the laboratory: confuse the head (bounded) or reverse "
        "its gradient (with --domains)",
    )
    p.add_argument(
        "--domain-prior",
        choices=("none", "usual"),
        default="none",
        help="usual: in the domain loss, PBC's crops weigh as their classes do in a usual "
        "differential (the other laboratories' cells are ordinary smears; with --domains)",
    )
    p.add_argument(
        "--clip-norm",
        type=float,
        default=0.0,
        help="clip the gradients to this norm (0: not clipped)",
    )
    p.add_argument(
        "--style",
        type=float,
        default=0.0,
        metavar="P",
        help="give this share of the labelled crops the colours and contrast of a random "
        "--domains cell (low-frequency Fourier amplitude mixed, phase kept; style_mix)",
    )
    p.add_argument(
        "--mixstyle",
        type=float,
        default=0.0,
        metavar="P",
        help="with probability P per step, mix the early feature statistics of the "
        "labelled crops with those of --domains cells (MixStyle; feature_style)",
    )
    p.add_argument(
        "--distil",
        type=Path,
        default=None,
        metavar="TEACHER.onnx",
        help="learn also what this classifier says of each crop averaged over its eight "
        "turns and mirror images (distil); --domains cells are then unlabelled cells it "
        "speaks for, not domain-adversarial",
    )
    p.add_argument("--distil-weight", type=float, default=1.0, help="weight of --distil's loss")
    p.add_argument(
        "--turns",
        type=int,
        default=0,
        choices=(0, 1, 2, 3, 4),
        help="quarter turns the card asks the run time to average (0: the default, 2)",
    )
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="FOLDER[:REPEAT]",
        help="more training images (an ImageFolder tree, e.g. from pseudo-labels), each "
        "seen REPEAT times an epoch (default 1); never in the validation split",
    )
    p.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the validation split (default: --seed): runs of other seeds keep "
        "one split, so they can be compared and averaged",
    )
    p.add_argument(
        "--stop-after",
        type=int,
        default=0,
        metavar="N",
        help="train only the first N epochs of the --epochs schedule (learning rate and "
        "domain weight still follow the whole schedule)",
    )
    p.add_argument(
        "--monitor",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="labelled cells of another laboratory measured every epoch (never selected on)",
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
        split_seed=args.split_seed,
        stop_after=args.stop_after,
        threads=args.threads,
        limit_per_class=args.limit_per_class,
        tight_views=args.tight_views,
        init=str(args.init) if args.init else "",
        norm=args.norm,
        augment=args.augment,
        standardise=args.standardise,
        monitor=tuple(args.monitor),
        colour=args.colour,
        domains=str(args.domains) if args.domains else "",
        domain_weight=args.domain_weight,
        domain_loss=args.domain_loss,
        domain_prior=args.domain_prior,
        clip_norm=args.clip_norm,
        style=args.style,
        mixstyle=args.mixstyle,
        extra=tuple(args.extra),
        freeze_norm=args.freeze_norm,
        distil=str(args.distil) if args.distil else "",
        distil_weight=args.distil_weight,
        turns=args.turns,
    )
    train(cfg)
    from hemoscope.training.export_classifier import finalise

    finalise(Path(args.out), cfg, command)
    return 0


def add_detector_args(p: argparse.ArgumentParser) -> None:
    _add_run_args(
        p, "YOLO-layout folder (images/train, labels/train, .../val)", epochs=140, batch=16
    )
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use only the first N images of each split (smoke tests)",
    )
    p.add_argument(
        "--min-visible",
        type=float,
        default=0.25,
        help="share of a cell that must lie inside a training view for it to be labelled",
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
        min_visible=args.min_visible,
        init=str(args.init) if args.init else "",
    )
    train(cfg)
    from hemoscope.training.export_detector import finalise

    finalise(Path(args.out), cfg, command)
    return 0


def add_soup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="YOLO-layout folder (for the metrics)")
    p.add_argument("--out", required=True, type=Path, help="folder for the soup (best.pt, ONNX)")
    p.add_argument(
        "--runs", required=True, type=Path, nargs="+", help="detector runs from one start"
    )
    p.add_argument(
        "--weights", type=float, nargs="+", help="one per run, summing to 1 (default: equal)"
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N validation images")


def run_detector_soup(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.export_detector import finalise
    from hemoscope.training.soup import make_soup, member_cards
    from hemoscope.training.train_detector import DetectorTrainConfig

    runs = list(args.runs)
    weights = args.weights or [1.0 / len(runs)] * len(runs)
    make_soup(runs, weights, Path(args.out))
    cfg = DetectorTrainConfig(data=str(args.data), out=str(args.out), limit=args.limit)
    training = {
        "command": command,
        "method": "weight average (model soup) of detector runs that share a starting point",
        "weights": weights,
        "members": member_cards(runs),
    }
    finalise(Path(args.out), cfg, command, card_extra={"training": training})
    return 0


def run_unfamiliar(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.export_classifier import refit_unfamiliar

    entry = refit_unfamiliar(
        args.model, args.data, args.seed, args.val_fraction, command, args.score
    )
    log.info(
        "unfamiliar-cell threshold %.3f (%.1f%% of validation cells flagged)",
        entry["threshold"],
        100 * entry["val_flagged"],
    )
    return 0


def run_colour_reference(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.colour_reference import colour_reference

    entry = colour_reference(args.model, args.data, args.seed, args.val_fraction, command)
    log.info("colour reference of %d training crops: mean %s std %s", entry["cells"],
             entry["mean"], entry["std"])  # fmt: skip
    return 0


def run_features(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.colour_reference import split_crops
    from hemoscope.training.descriptor import add_features

    crops = split_crops(args.data, args.seed, args.val_fraction, "val")
    entry = add_features(args.model, crops, command)
    log.info("features output added to %s: scales %s (%d validation crops)",
             args.model, entry["scales"], entry["cells"])  # fmt: skip
    return 0


def run_descriptor_spread(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.descriptor_spread import descriptor_spread

    entry = descriptor_spread(args.model, args.data, args.seed, args.val_fraction, command)
    values = entry["values"]
    log.info("descriptor spread of %d training crops: %d dimensions, %.4g to %.4g",
             entry["cells"], len(values), min(values), max(values))  # fmt: skip
    return 0


def run_quantise(args: argparse.Namespace, command: str) -> int:
    from hemoscope.training.quantise import quantise

    card = quantise(
        args.model,
        args.data,
        args.out,
        args.calib,
        args.seed,
        args.val_fraction,
        command,
        args.domains,
    )
    log.info("8-bit classifier written to %s (%s)", args.out, card["sha256"][:12])
    return 0


def run_pseudo_labels(args: argparse.Namespace) -> int:
    from hemoscope.training.pseudo_labels import make, write_domains

    if args.domains_only:
        counts = write_domains(args.fields, args.split, args.out)
        log.info("unlabelled white cells per source in %s: %s", args.out, counts)
        return 0
    if args.model is None:
        raise SystemExit("pseudo-labels needs --model (the teacher), or --domains-only")
    cells = make(args.model, args.fields, args.split, args.out, args.min_confidence)
    log.info("%d of %d white cells pseudo-labelled into %s",
             sum(c.kept for c in cells), len(cells), args.out)  # fmt: skip
    return 0


def run_lab_domains(args: argparse.Namespace) -> int:
    from hemoscope.training.lab_domains import write_labs

    counts = write_labs(args.lab, args.out, args.threads)
    log.info("unlabelled white cells per laboratory in %s: %s", args.out, counts)
    return 0


def add_pretrain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="PBC's ImageFolder tree (its "
                   "training split is used, without classes)")  # fmt: skip
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, weights)")
    p.add_argument(
        "--domains",
        type=Path,
        help="unlabelled white cells of other laboratories, one sub-folder each (half of "
        "every batch)",
    )
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=128, help="cells per step (two views each)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--temperature", type=float, default=0.2, help="of the NT-Xent loss")
    p.add_argument("--size", type=int, default=96, help="the views' side in pixels")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument(
        "--split-seed", type=int, default=None, help="seed of PBC's validation split, left "
        "out (default: --seed, as the classifier's)",
    )  # fmt: skip
    p.add_argument(
        "--domain-weight", type=float, default=0.0, help="> 0: the embedding is also trained "
        "to hide each cell's laboratory (PBC or a --domains sub-folder), at this final weight",
    )  # fmt: skip
    p.add_argument("--domain-loss", choices=("reverse", "confuse"), default="reverse")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--limit-per-class", type=int, default=0, help="use only N images per class (smoke tests)"
    )


def run_pretrain(args: argparse.Namespace) -> int:
    from hemoscope.training.self_supervised import PretrainConfig, pretrain

    cfg = PretrainConfig(
        data=str(args.data), out=str(args.out), domains=str(args.domains or ""),
        epochs=args.epochs, batch=args.batch, lr=args.lr, temperature=args.temperature,
        size=args.size, seed=args.seed, split_seed=args.split_seed, threads=args.threads,
        limit_per_class=args.limit_per_class, domain_weight=args.domain_weight,
        domain_loss=args.domain_loss,
    )  # fmt: skip
    res = pretrain(cfg)
    last = res["history"][-1] if res["history"] else {}
    log.info("pre-trained weights in %s (epoch %s)", args.out / "pretrained.pt", last.get("epoch"))
    return 0


def _command_line(args: argparse.Namespace | None = None) -> str:
    """The command as typed, for the model card (program name normalised); the arguments
    given to `main`, when it was called with some."""
    import os
    import shlex
    import sys

    given = getattr(args, "argv", None)
    prog = "python" if given is not None else os.path.basename(sys.argv[0])
    head = "hemoscope" if prog in ("hemoscope", "hemoscope.exe") else "python -m hemoscope.training"
    tail = list(given) if given is not None else sys.argv[1:]
    if head == "hemoscope" and tail[:1] == ["train"]:
        tail = tail[1:]
        head = "hemoscope train"
    return head + " " + " ".join(shlex.quote(a) for a in tail)


def _add_card_args(p: argparse.ArgumentParser) -> None:
    """An exported classifier whose card gets figures from its training split."""
    p.add_argument("--model", required=True, type=Path, help="classifier ONNX file (with card)")
    p.add_argument("--data", required=True, type=Path, help="the training ImageFolder tree")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--val-fraction", type=float, default=0.15)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``classifier``, ``detector``, ``detector-soup`` and ``calibrate`` to a sub-parser
    group."""
    p = sub.add_parser("classifier", help="train the white-cell classifier")
    add_classifier_args(p)
    p.set_defaults(handler=lambda a: run_classifier(a, _command_line(a)))
    p = sub.add_parser("detector", help="train the cell detector (WBC, RBC, platelets)")
    add_detector_args(p)
    p.set_defaults(handler=lambda a: run_detector(a, _command_line(a)))
    p = sub.add_parser(
        "detector-soup", help="average the weights of detector runs (model soup) and export"
    )
    add_soup_args(p)
    p.set_defaults(handler=lambda a: run_detector_soup(a, _command_line(a)))
    p = sub.add_parser(
        "unfamiliar",
        help="fit the unfamiliar-cell statistics of an exported classifier into its card",
    )
    _add_card_args(p)
    p.add_argument(
        "--score",
        choices=("mahalanobis", "nearest"),
        default="mahalanobis",
        help="distance to the nearest class mean, or to the nearest training cells",
    )
    p.set_defaults(handler=lambda a: run_unfamiliar(a, _command_line(a)))
    p = sub.add_parser(
        "colour-reference",
        help="write the training crops' pooled colour statistics into a classifier card",
    )
    _add_card_args(p)
    p.set_defaults(handler=lambda a: run_colour_reference(a, _command_line(a)))
    p = sub.add_parser(
        "features",
        help="add the features output (pooled middle stages, read by laboratory profiles) "
        "to a classifier exported without it",
    )
    _add_card_args(p)
    p.set_defaults(handler=lambda a: run_features(a, _command_line(a)))
    p = sub.add_parser(
        "descriptor-spread",
        help="write the spread of each descriptor dimension over the training crops into a "
        "classifier card (the unit of laboratory profiles' head correction)",
    )
    _add_card_args(p)
    p.set_defaults(handler=lambda a: run_descriptor_spread(a, _command_line(a)))
    p = sub.add_parser(
        "quantise",
        help="write the 8-bit version of an exported float classifier, with its card and "
        "statistics measured again (what the station ships)",
    )
    _add_card_args(p)
    p.add_argument("--out", required=True, type=Path, help="folder for the 8-bit model")
    p.add_argument("--calib", type=int, default=256, help="training crops for the ranges")
    p.add_argument(
        "--domains",
        type=Path,
        default=None,
        help="unlabelled white cells of other laboratories (one sub-folder each), also "
        "for the ranges",
    )
    p.set_defaults(handler=lambda a: run_quantise(a, _command_line(a)))
    p = sub.add_parser(
        "pseudo-labels",
        help="name the white cells of TXL-PBC's other sources with a classifier (teacher)",
    )
    p.add_argument(
        "--model", type=Path, help="teacher classifier ONNX file (not for --domains-only)"
    )
    p.add_argument("--fields", required=True, type=Path, help="YOLO-layout folder (TXL-PBC)")
    p.add_argument("--split", default="train", help="which split's fields (default: train)")
    p.add_argument("--out", required=True, type=Path, help="ImageFolder tree to write")
    p.add_argument("--min-confidence", type=float, default=0.8)
    p.add_argument(
        "--domains-only",
        action="store_true",
        help="write every white cell unlabelled, one folder per source (for --domains)",
    )
    p.set_defaults(handler=run_pseudo_labels)
    p = sub.add_parser(
        "lab-domains",
        help="write other laboratories' white cells unlabelled, for train classifier --domains",
    )
    p.add_argument(
        "--lab",
        action="append",
        required=True,
        metavar="NAME=cells|fields:FOLDER",
        help="a laboratory's single-cell images (cells) or fields (fields); repeatable",
    )
    p.add_argument("--out", required=True, type=Path, help="folder of one folder per laboratory")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(handler=run_lab_domains)
    p = sub.add_parser(
        "pretrain",
        help="self-supervised pre-training of the classifier's network on unlabelled cells "
        "(SimCLR), for classifier --init",
    )
    add_pretrain_args(p)
    p.set_defaults(handler=run_pretrain)
    from hemoscope.training import calibrate

    p = sub.add_parser(
        "calibrate",
        help="set the classifier's review threshold on other laboratories (leave one out)",
    )
    calibrate.add_args(p)
    p.set_defaults(handler=lambda a: calibrate.run(a, _command_line(a)))


def register_train(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``hemoscope train classifier|detector``."""
    p = subparsers.add_parser("train", help="train a model (needs the 'train' extra: torch)")
    register(p.add_subparsers(dest="model", metavar="MODEL", required=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hemoscope.training")
    register(parser.add_subparsers(dest="model", required=True))
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return int(args.handler(args))
