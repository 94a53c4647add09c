"""After training: calibrate, export to ONNX, check parity, write the model card."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from hemoscope.training.card_entry import write_card_entry
from hemoscope.training.classifier_model import (
    INPUT_SIZE,
    CellClassifier,
    ClassifierExport,
    ExportedLogits,
)
from hemoscope.training.descriptor import feature_width, features_entry, torch_feature_scales
from hemoscope.training.domain_adversarial import USUAL_DIFFERENTIAL
from hemoscope.training.domain_cells import read_sources
from hemoscope.training.pbc_data import Sample, list_samples, load_all
from hemoscope.training.train_classifier import CLASSES, ClassifierTrainConfig, predict_logits
from hemoscope.vision.classification_metrics import (
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    softmax,
)
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.crops import (
    CROP_SCALE,
    MIN_BOX_FACTOR,
    MIN_RBC,
    RBC_CROP_FACTOR,
    cut_crop,
    whole_image_geometry,
)
from hemoscope.vision.datasets import image_files
from hemoscope.vision.model_card import ModelError, load_card
from hemoscope.vision.perturb import PERTURBATIONS

log = logging.getLogger(__name__)
OPSET = 17
RUN_TURNS = 2
"""Quarter turns the run time averages (`vision.classifier.Classifier`, card ``turns``):
on other laboratories' cells the crop and its 90-degree turn averaged are 2-3 points
more often right than the crop alone (PBC unchanged), for twice the classifier's cost."""


def load_best(run: Path) -> CellClassifier:
    state = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    model = CellClassifier(
        len(CLASSES),
        norm="group" if state.get("norm") == "group" else "batch",
        colour=str(state.get("colour", "rgb")),
    )
    model.load_state_dict(state["model"])
    return model.eval()


def export_onnx(
    model: CellClassifier,
    path: Path,
    feature_scales: tuple[float, ...] | None = None,
    features: bool = True,
) -> None:
    """Export the shipped graph (`ClassifierExport`); ``features=False`` leaves out the
    ``features`` output, as graphs were exported before it existed."""
    wrapper = ClassifierExport(model, feature_scales=feature_scales, features=features).eval()
    x = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE)
    names = ["logits", "embedding", "cam"] + (["features"] if features else [])
    torch.onnx.export(
        wrapper,
        (x,),
        str(path),
        input_names=["image"],
        output_names=names,
        dynamic_axes={"image": {0: "n"}, **{k: {0: "n"} for k in names}},
        opset_version=OPSET,
        dynamo=False,
    )


def parity(model: CellClassifier, path: Path, n: int = 8) -> float:
    """Largest absolute difference between torch and ONNX Runtime logits."""
    x = torch.rand(n, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = ExportedLogits(model).eval()(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"image": x.numpy()})[0]
    return float(np.abs(ref - got).max())


def choose_review_threshold(probs: np.ndarray, y: np.ndarray, target: float = 0.995) -> float:
    """Lowest confidence cut (0.5..0.9) at which accepted cells reach the target accuracy."""
    conf, correct = probs.max(1), probs.argmax(1) == y
    for t in np.arange(0.5, 0.9001, 0.01):
        keep = conf >= t
        if keep.any() and correct[keep].mean() >= target:
            return round(float(t), 2)
    return 0.9


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def val_metrics(
    logits: np.ndarray, y: np.ndarray, temperature: float, threshold: float, classes: list[str]
) -> dict[str, Any]:
    """The card's validation metrics of one turn's logits: accuracy, macro-F1, per class,
    confusion, calibration error before and after the temperature, and the review
    fraction at ``threshold`` with the accuracy of the cells it leaves."""
    p_raw, p_cal = softmax(logits), softmax(logits, temperature)
    rep = classification_report(confusion_matrix(y, p_cal.argmax(1), len(classes)))
    keep = p_cal.max(1) >= threshold
    return {
        "val_accuracy": round(rep.accuracy, 4),
        "val_macro_f1": round(rep.macro_f1, 4),
        "per_class": {
            c: {
                "precision": round(rep.precision[i], 4),
                "recall": round(rep.recall[i], 4),
                "f1": round(rep.f1[i], 4),
                "support": rep.support[i],
            }
            for i, c in enumerate(classes)
        },
        "confusion": [list(r) for r in rep.confusion],
        "ece_uncalibrated": round(expected_calibration_error(p_raw, y), 4),
        "ece_calibrated": round(expected_calibration_error(p_cal, y), 4),
        "review_fraction": round(float(1 - keep.mean()), 4),
        "accuracy_not_flagged": round(
            float((p_cal.argmax(1) == y)[keep].mean()) if keep.any() else 0.0, 4
        ),
    }


def finalise(run: Path, cfg: ClassifierTrainConfig, command: str) -> dict[str, Any]:
    split = json.loads((run / "split.json").read_text(encoding="utf-8"))
    root = Path(cfg.data)
    val_s = [Sample(root / name, CLASSES.index(name.split("/")[0])) for name in split["val"]]
    # Folder names were resolved through the taxonomy at training time; re-resolve.
    samples, _ = list_samples(root, CLASSES)
    by_name = {f"{s.path.parent.name}/{s.path.name}": s for s in samples}
    val_s = [by_name.get(n, s) for n, s in zip(split["val"], val_s, strict=True)]
    y = np.array([s.label for s in val_s], np.int64)
    model = load_best(run)
    val_images = load_all(val_s)
    logits = predict_logits(ExportedLogits(model), val_images, y, cfg)
    temperature = fit_temperature(logits, y)
    p_cal = softmax(logits, temperature)
    threshold = choose_review_threshold(p_cal, y)
    rep = classification_report(confusion_matrix(y, p_cal.argmax(1), len(CLASSES)))
    onnx_path = run / "classifier.onnx"
    scales = torch_feature_scales(model, framed_crops(val_images, INPUT_SIZE, "nominal"))
    export_onnx(model, onnx_path, scales)
    diff = parity(model, onnx_path)
    if diff > 1e-3:
        raise RuntimeError(f"ONNX and torch disagree by {diff:.2e}")
    best_epoch = int(torch.load(run / "best.pt", map_location="cpu", weights_only=False)["epoch"])
    card: dict[str, Any] = {
        "name": "hemoscope-cell-classifier",
        "version": dt.date.today().strftime("%Y.%m.%d"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "white-cell classification of single-cell crops",
        "file": "classifier.onnx",
        "sha256": sha256(onnx_path),
        "size_bytes": onnx_path.stat().st_size,
        "classes": list(CLASSES),
        "input": {
            "name": "image",
            "shape": ["n", 3, INPUT_SIZE, INPUT_SIZE],
            "dtype": "float32",
            "colour": "RGB",
            "range": [0.0, 1.0],
            "normalisation": "inside the graph: (x - 0.5) / 0.25",
        },
        "crop_rule": {
            "scale": CROP_SCALE,
            "rbc_factor": RBC_CROP_FACTOR,
            "min_box_factor": MIN_BOX_FACTOR,
            "min_rbc": MIN_RBC,
            "size": INPUT_SIZE,
            "description": "square centred on the cell's box; side = rbc_factor x the median "
            "diameter of the whole red cells in the image (at least min_box_factor x the "
            "longer box side), or scale x the longer box side when fewer than min_rbc whole "
            "red cells are found; bilinear resize to size x size, edge pixels repeated "
            "outside the image. Training crops PBC images at 2 x 0.39 of the shorter side, "
            "which is rbc_factor red-cell diameters (benchmarks/measure_crop_scale.py)",
        },
        "outputs": {
            "logits": ["n", len(CLASSES)],
            "embedding": ["n", model.embedding_dim],
            "cam": ["n", len(CLASSES), "h", "w"],
            "features": ["n", feature_width(model)],
        },
        "features": features_entry(scales, len(val_images), command),
        "temperature": round(temperature, 4),
        "review_threshold": threshold,
        **({"standardisation": standardisation_entry()} if cfg.standardise else {}),
        "architecture": "residual CNN, widths 32-64-128-192, 2 blocks per stage, global average pooling, linear head"
        + (", GroupNorm (8 groups)" if model.norm_kind == "group" else ", BatchNorm"),
        "test_time_augmentation": "inside the graph: logits and embedding averaged over the crop and its mirror image; CAM from the crop as given. At run time also over the crop turned by 90 degrees (card 'turns'; temperature and thresholds fitted on one turn)",
        "turns": cfg.turns or RUN_TURNS,
        "data": {
            "dataset": "PBC (Acevedo et al., 'A dataset of microscopic peripheral blood cell images for "
            "development of automatic recognition systems', Data in Brief 30, 105474, 2020)",
            "licence": "CC BY 4.0",
            "path": "../shared/data/pbc",
            "split": f"stratified per class, seeded ({cfg.seed}): the {cfg.val_fraction:.0%} of each class "
            "with the lowest sha1(seed:file name) go to validation",
            "train_images": len(split["train"]),
            "val_images": len(split["val"]),
        },
        "training": {
            "command": command,
            "epochs": cfg.epochs,
            "best_epoch": best_epoch,
            "batch": cfg.batch,
            "optimiser": f"AdamW lr {cfg.lr} wd {cfg.weight_decay}, cosine, EMA weights",
            "augmentation": "crop scale x0.7-1.35 and offset jitter, any rotation, flips; HED stain, "
            "brightness/contrast/saturation/hue, gamma, white balance, blur, noise, JPEG"
            + (
                " at other laboratories' strength (augment.WIDE: stain x0.5-1.5, hue +-54 deg, "
                "white balance x0.65-1.35, blur sigma 0.4-3, a third to four fifths of the "
                "resolution)"
                if cfg.augment == "wide"
                else " at PBC's colour strength with other laboratories' blur, noise, "
                "compression and resolution (augment.OPTICS)"
                if cfg.augment == "optics"
                else " at PBC's own strength"
            )
            + ("; then the run-time colour standardisation" if cfg.standardise else "")
            + (
                f"; {cfg.tight_views:.0%} of views from the image cut to "
                f"{cfg.tight_range[0]:g}-{cfg.tight_range[1]:g} of its side around the cell, "
                "framed as run time frames such images"
                if cfg.tight_views
                else ""
            )
            + (
                f"; {cfg.style:.0%} of the labelled crops given the low-frequency Fourier "
                "amplitude of a random --domains cell, mixed by a random amount (style_mix)"
                if cfg.style
                else ""
            )
            + (
                f"; with probability {cfg.mixstyle:g} per step, the early feature statistics "
                "of the labelled crops mixed with those of --domains cells (MixStyle, "
                "feature_style)"
                if getattr(cfg, "mixstyle", 0.0)
                else ""
            ),
            **({"init": init_entry(cfg.init)} if cfg.init else {}),
            **({"domain_adversarial": domain_entry(cfg)} if cfg.domains and not cfg.distil else {}),
            **({"distillation": distil_entry(cfg, init_entry(cfg.distil))} if cfg.distil else {}),
            **(
                {"colour": "luminance only (BT.601), inside the graph"}
                if cfg.colour == "grey"
                else {}
            ),
            "torch": torch.__version__,
            "seed": cfg.seed,
            "split_seed": cfg.seed if cfg.split_seed is None else cfg.split_seed,
        },
        "metrics": {
            **val_metrics(logits, y, temperature, threshold, list(CLASSES)),
            "onnx_torch_max_abs_diff": diff,
        },
    }
    (run / "classifier.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    train_s = [by_name[n] for n in split["train"] if n in by_name]
    card["unfamiliar"] = fit_unfamiliar(onnx_path, load_all(train_s), train_s, val_images, y)
    (run / "classifier.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    card["metrics"]["stress"] = stress_table(Classifier(onnx_path), val_images, y)
    (run / "classifier.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info("val accuracy %.4f macro-F1 %.4f T=%.3f", rep.accuracy, rep.macro_f1, temperature)
    return card


def distil_entry(cfg: ClassifierTrainConfig, teacher: dict[str, Any] | str) -> dict[str, Any]:
    """What the run learnt from ``--distil`` (`training.distil`): the teacher, how it was
    asked, and the unlabelled cells it spoke for."""
    from hemoscope.training.distil import TEMPERATURE

    entry: dict[str, Any] = {
        "method": "knowledge distillation (Hinton et al., 2015): cross-entropy on the labelled "
        "crops plus the weighted Kullback-Leibler divergence of the student's probabilities "
        "from the teacher's, both softened by the temperature, on every crop; the teacher's "
        "logits averaged over the crop's eight turns and mirror images",
        "teacher": teacher,
        "views": 8,
        "temperature": TEMPERATURE,
        "weight": cfg.distil_weight,
    }
    if cfg.domains:
        unlabelled = domain_entry(cfg)
        entry.update({k: unlabelled[k] for k in ("folder", "unlabelled_cells", "sources")})
    return entry


def init_entry(init: str) -> dict[str, Any] | str:
    """Where the weights started: the file, and for a shipped model its hash and the
    command that made it (read from its card before it is replaced)."""
    try:
        card = load_card(Path(init))
    except ModelError:  # a run's checkpoint (no card), or a card not of this file
        return init
    training = card.get("training", {})
    return {
        "file": init,
        "sha256": card.get("sha256", ""),
        "version": card.get("version", ""),
        "command": training.get("command", ""),
        **({"init": training["init"]} if "init" in training else {}),
    }


USUAL_WEIGHTING = (
    "each PBC crop as its class's share of a usual differential over its share of the "
    f"training crops: {USUAL_DIFFERENTIAL}"
)


def domain_entry(cfg: ClassifierTrainConfig) -> dict[str, Any]:
    """The unlabelled other laboratories of ``--domains``, for the card: how many cells
    each, and where they came from (each folder's ``source.txt``, `domain_cells`)."""
    root = Path(cfg.domains)
    counts = {p.name: len(image_files(p)) for p in sorted(root.iterdir()) if p.is_dir()}
    return {
        "method": "reverse: gradient reversal (Ganin et al., JMLR 2016)"
        if cfg.domain_loss == "reverse"
        else "confuse: domain confusion to the head's uniform guess (Tzeng et al., ICCV 2015)",
        "weight": cfg.domain_weight,
        "schedule": "0 -> weight as 2 / (1 + exp(-10 p)) - 1 over training",
        **({"labelled_weighting": USUAL_WEIGHTING} if cfg.domain_prior == "usual" else {}),
        "folder": cfg.domains,
        "unlabelled_cells": counts,
        "sources": read_sources(root),
    }


def standardisation_entry() -> dict[str, Any]:
    from hemoscope.vision import stain

    return {
        "method": "hemoscope.vision.stain: background white point and red-cell optical "
        "density of the crop's outer ring, rendered with PBC's",
        "reference_background_rgb": list(stain.REF_BACKGROUND),
        "reference_rbc_od": list(stain.REF_RBC_OD),
        "fallbacks": "background only (too few red-cell pixels); none (no plausible background)",
    }


def embeddings(clf: Classifier, images: list[np.ndarray]) -> np.ndarray:
    """The shipped graph's embedding of each image's nominal crop (as run time gives it)."""
    out = []
    for s in range(0, len(images), 256):
        out.append(
            clf.classify_crops(
                framed_crops(images[s : s + 256], clf.input_size, "nominal")
            ).embedding
        )
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def fit_unfamiliar(
    onnx_path: Path,
    train_images: list[np.ndarray],
    train_s: list[Sample],
    val_images: list[np.ndarray],
    y_val: np.ndarray,
    score: str = "mahalanobis",
) -> dict[str, Any]:
    """Fit the unfamiliar-cell statistics on the training cells' embeddings, set the
    threshold on the validation cells, save ``<model>.unfamiliar.npz``; the card entry.
    ``score``: "mahalanobis" (distance to the nearest class mean) or "nearest" (to the
    nearest training cells; the class means are fitted all the same, for the cell map)."""
    from hemoscope.vision.unfamiliar import (
        GUARD_FACTOR,
        NEIGHBOURS,
        SENSITIVITIES,
        STANDARD,
        UnfamiliarModel,
        fit,
        fit_guard,
        fit_nearest,
    )

    if score not in ("mahalanobis", "nearest"):
        raise SystemExit(f"unknown unfamiliar-cell score '{score}' (mahalanobis or nearest)")
    clf = Classifier(onnx_path)
    emb = embeddings(clf, train_images)
    means, whiten = fit(emb, np.array([s.label for s in train_s]), len(CLASSES))
    reference = fit_nearest(emb) if score == "nearest" else None
    unscored = UnfamiliarModel(means, whiten, np.inf, reference)
    val_embedding = embeddings(clf, val_images)
    scores = unscored.scores(val_embedding)
    # The standard threshold flags 1 % of the training laboratory's own validation cells;
    # the stricter review sensitivities 10 and 20 % (`vision.unfamiliar.SENSITIVITIES`),
    # at the precision the card keeps them.
    levels = {name: round(float(np.quantile(scores, q)), 6) for name, q in SENSITIVITIES.items()}
    # The nearest-neighbour score's Mahalanobis guard (`GUARD_FACTOR`).
    guard = fit_guard(unscored.mahalanobis(val_embedding)) if reference is not None else np.inf
    model = replace(unscored, threshold=levels[STANDARD], thresholds=levels, guard=guard)
    path = onnx_path.with_suffix(".unfamiliar.npz")
    model.save(path)
    # What run time flags at each level: the score above its threshold, or past the guard.
    flagged = {name: round(float(model.at(name).flags(val_embedding).mean()), 4) for name in levels}
    if score == "nearest":
        method = (
            f"one minus the cosine similarity of the embedding to the {NEIGHBOURS}th nearest "
            f"of the {len(train_s)} training cells' embeddings (Sun et al., ICML 2022); also "
            f"unfamiliar at every sensitivity: a squared Mahalanobis distance to the nearest "
            f"class mean over its dimension above `guard` ({GUARD_FACTOR:g} times its own "
            f"{SENSITIVITIES[STANDARD]:.0%} quantile)"
        )
    else:
        method = (
            "squared Mahalanobis distance of the embedding to the nearest class mean over "
            "its dimension (class means and one shared covariance, shrunk by 0.1, from the "
            f"{len(train_s)} training cells)"
        )
    return {
        "file": path.name,
        "sha256": sha256(path),
        "score": score,
        "threshold": levels[STANDARD],
        "method": f"{method}; threshold: the {SENSITIVITIES[STANDARD]:.0%} quantile of the "
        "validation cells' scores (stricter review sensitivities: `thresholds`)",
        "val_flagged": flagged[STANDARD],
        **({"guard": round(guard, 6)} if np.isfinite(guard) else {}),
        # One threshold per review sensitivity (`vision.unfamiliar.SENSITIVITIES`), with
        # the share of the validation cells each flags.
        "thresholds": levels,
        "val_flagged_at": flagged,
    }


def refit_unfamiliar(
    model: Path,
    data: Path,
    seed: int,
    val_fraction: float,
    command: str,
    score: str = "mahalanobis",
) -> dict[str, Any]:
    """Fit the unfamiliar-cell statistics for an exported classifier (its card names the
    split) and write them into its card: for models exported before the signal existed."""
    samples, _ = list_samples(data, CLASSES)
    from hemoscope.vision.datasets import stratified_split

    train_s, val_s = stratified_split(samples, val_fraction, seed)
    y_val = np.array([s.label for s in val_s], np.int64)
    entry = fit_unfamiliar(model, load_all(train_s), train_s, load_all(val_s), y_val, score)
    entry["command"] = command
    write_card_entry(model, "unfamiliar", entry)
    return entry


def framed_crops(images: list[np.ndarray], size: int, framing: str) -> np.ndarray:
    """Validation crops framed as the pipeline does (``nominal``), tighter, looser, or
    the whole image (what ``hemoscope classify`` does with a crop file)."""
    factor = {"nominal": 1.0, "tight (k=1.4)": 1.4 / CROP_SCALE, "loose (k=2.6)": 2.6 / CROP_SCALE}
    out = np.empty((len(images), size, size, 3), np.uint8)
    for i, img in enumerate(images):
        h, w = img.shape[:2]
        if framing == "whole image":
            cx, cy, side = whole_image_geometry(h, w)
        else:
            from hemoscope.training.train_classifier import nominal_geometry

            cx, cy, side = nominal_geometry(img)
            side *= factor[framing]
        out[i] = cut_crop(img, cx, cy, side, size)
    return out


def stress_table(clf: Classifier, images: list[np.ndarray], y: np.ndarray) -> list[dict[str, Any]]:
    """Accuracy and macro-F1 of the exported model under each perturbation and framing."""
    rows: list[dict[str, Any]] = []
    base = framed_crops(images, clf.input_size, "nominal")

    def score(name: str, crops: np.ndarray) -> None:
        res = clf.classify_crops(crops)
        pred = np.array([clf.classes.index(lbl) for lbl in res.labels], np.int64)
        rep = classification_report(confusion_matrix(y, pred, len(clf.classes)))
        rows.append(
            {
                "condition": name,
                "accuracy": round(rep.accuracy, 4),
                "macro_f1": round(rep.macro_f1, 4),
                "review_fraction": round(float(res.review.mean()), 4),
            }
        )
        log.info("stress %-32s acc %.4f macro-F1 %.4f", name, rep.accuracy, rep.macro_f1)

    for name, fn in PERTURBATIONS.items():
        score(name, np.stack([fn(c) for c in base]))
    for framing in ("tight (k=1.4)", "loose (k=2.6)", "whole image"):
        score(f"framing: {framing}", framed_crops(images, clf.input_size, framing))
    return rows
