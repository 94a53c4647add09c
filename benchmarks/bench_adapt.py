"""Learning curve of laboratory profiles (`hemoscope adapt`) on other laboratories.

    python benchmarks/bench_adapt.py [--data ../shared/data] [--k 0 10 25 50 100]
                                     [--draws 5] [--pbc-every 4] [--json FILE]

For each laboratory under ``other-labs`` (``jiangxi``: single-cell images framed as
``hemoscope classify`` frames them; ``bionet``: fields through the pipeline, the white
cell found nearest the centre), every labelled cell goes through the shipped classifier
once. Then, for k labelled cells drawn stratified from the laboratory (``--draws``
seeded draws per k), ``vision.lab_adapt.adapt`` fits a profile on them exactly as the
command does (cross-validated, refused when worse than the shipped model: the shipped
model then stays; fitted with and without the colour calibration of the k cells, the
better kept, `vision.lab_adapt_colour`) and the rest of the laboratory is scored:
accuracy and balanced accuracy of the classifier's class (a field where no white cell is
found counts as wrong), adapt time (the k cells embedded in their four views plus the
fit) and profile size. k = 0 is the shipped model. Also: PBC validation accuracy with
the k=100 profile of each laboratory (a profile belongs to one station), and the
classifier's cost per cell with and without a profile.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs  # noqa: E402

from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.classifier import seen_through  # noqa: E402
from hemoscope.vision.colour_calibration import CalibrationError  # noqa: E402
from hemoscope.vision.datasets import list_samples, load_rgb, stratified_split  # noqa: E402
from hemoscope.vision.lab_adapt import AdaptError, adapt  # noqa: E402
from hemoscope.vision.lab_adapt_colour import better, calibration_for  # noqa: E402
from hemoscope.vision.lab_embed import embed, embed_views  # noqa: E402
from hemoscope.vision.microscope_cells import colour_profile  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402
from hemoscope.vision.single_cell import frame_single_cell  # noqa: E402

PBC_SEED = 20261122


def draw(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k indices drawn stratified (proportional, at least one per class while k allows)."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    share = counts / counts.sum() * k
    take = np.maximum(np.floor(share).astype(int), (k >= len(classes)) * 1)
    take = np.minimum(take, counts)
    order = np.argsort(-(share - np.floor(share)))
    i = 0
    while take.sum() < k and i < 10 * len(classes):
        c = order[i % len(classes)]
        if take[c] < counts[c]:
            take[c] += 1
        i += 1
    while take.sum() > k:
        take[np.argmax(take)] -= 1
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=int(n), replace=False)
        for c, n in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, int)


def lab_embeddings(pipeline: Pipeline, root: Path, kind: Any) -> dict[str, object]:
    """Every labelled cell of the laboratory through the shipped classifier, as the
    station sees it (the draws embed their k cells in the views adapt fits on); how many
    fields had no white cell."""
    clf = pipeline.classifier
    cells = lab_cells(pipeline, root, kind)
    logits, emb, cell, primary = embed_views(clf, cells.array(), views=1)
    return {
        "crops": cells.array(),
        "logits": logits,
        "embedding": emb,
        "cell": cell,
        "primary": primary,
        "labels": np.asarray(cells.labels),
        "missed": len(cells.skipped),
        "classes": cells.classes,
    }


def learning_curve(
    lab: dict[str, object], name: str, ks: list[int], draws: int, pipeline: Pipeline, tmp: Path
) -> tuple[list[dict[str, object]], dict[int, object]]:
    y = np.asarray(lab["labels"])
    missed = int(lab["missed"])  # type: ignore[call-overload]
    rows = []
    profiles: dict[int, object] = {}
    for k in ks:
        runs = [one_draw(lab, name, k, seed, pipeline, tmp) for seed in range(draws)]
        accs, bals, review, unflagged = [], [], [], []
        for run in runs:
            rest, pred, sent = run["rest"], run["pred"], run["sent"]
            review.append(float(sent.mean()))
            if (~sent).any():
                unflagged.append(float((pred == y[rest])[~sent].mean()))
            yr = y[rest]
            n_total = len(rest) + missed  # missed fields: wrong, in every draw's rest
            accs.append(float((pred == yr).sum()) / n_total)
            bals.append(float(np.mean([float((pred[yr == c] == c).mean()) for c in np.unique(yr)])))
        fitted = [r for r in runs if r["profile"] is not None]
        if fitted and runs[0]["profile"] is not None:
            profiles[k] = runs[0]["profile"]
        rows.append(
            {
                "lab": name,
                "k": k,
                "rest": int(len(y) - k + missed),
                "accuracy": float(np.mean(accs)),
                "accuracy_sd": float(np.std(accs)),
                "balanced_accuracy": float(np.mean(bals)),
                "balanced_sd": float(np.std(bals)),
                "refused": sum(1 for r in runs if k and r["profile"] is None),
                "colour_chosen": sum(1 for r in fitted if r["profile"].colour is not None),
                "adapt_s": float(np.mean([r["seconds"] for r in fitted])) if fitted else 0.0,
                "profile_kb": float(np.mean([r["size"] for r in fitted])) / 1024 if fitted else 0.0,
                "flagged_not_learnt": float(np.mean([r["not_learnt"] for r in fitted]))
                if fitted
                else 0.0,
                "flagged": float(np.mean(review)),
                "accuracy_unflagged": float(np.mean(unflagged)) if unflagged else float("nan"),
            }
        )
        r = rows[-1]
        print(
            f"{name:<9}{k:>5}{r['rest']:>6}  {r['accuracy']:6.1%} ± {r['accuracy_sd']:4.1%}"
            f"  {r['balanced_accuracy']:6.1%} ± {r['balanced_sd']:4.1%}  {r['refused']}/{draws}"
            f"  colour {r['colour_chosen']}/{len(fitted)}"
            f"  {r['adapt_s']:5.2f} s  {r['profile_kb']:5.1f} KiB"
            f"  flagged {r['flagged']:5.1%}, unflagged right {r['accuracy_unflagged']:5.1%}"
            f" (class not in the profile {r['flagged_not_learnt']:5.1%})",
            flush=True,
        )
    return rows, profiles


def one_draw(
    lab: dict[str, object], name: str, k: int, seed: int, pipeline: Pipeline, tmp: Path
) -> dict[str, Any]:
    """k cells drawn, a profile fitted on them as ``adapt`` fits it (with and without
    the colour calibration of those k cells, the better by cross-validation), the rest of
    the laboratory classified with it."""
    clf = pipeline.classifier
    logits = np.asarray(lab["logits"])
    emb = np.asarray(lab["embedding"])
    primary = np.asarray(lab["primary"], bool)
    crops = np.asarray(lab["crops"])
    y = np.asarray(lab["labels"])
    classes = tuple(lab["classes"])  # type: ignore[arg-type]
    row_of = np.flatnonzero(primary)
    idx = draw(y, k, seed) if k else np.zeros(0, int)
    rest = np.setdiff1d(np.arange(len(y)), idx)
    out: dict[str, Any] = {"rest": rest, "profile": None, "seconds": 0.0, "size": 0}
    rest_logits, rest_emb = logits[row_of[rest]], emb[row_of[rest]]
    raw_emb = rest_emb
    used = None
    if k:
        t0 = time.perf_counter()
        common = {
            "classes": classes,
            "base_temperature": float(clf.temperature),  # type: ignore[attr-defined]
            "models": pipeline.model_cards(),
            "name": f"{name}-{k}-{seed}",
            "seed": seed,
        }
        try:  # the k cells in the views the command fits on, with and without colour
            lg, em, vcell, vprim = embed_views(clf, crops[idx])
            res = adapt(em, lg, y[idx][vcell], groups=vcell, primary=vprim, **common)
            colour = calibration_for(clf, crops[idx])
            if colour is not None:
                lg_c, em_c, _, _ = embed_views(clf, colour.apply(crops[idx]))
                lg_c, em_c = seen_through(clf.colour_view, (lg, em), (lg_c, em_c))  # type: ignore[attr-defined]
                res_c = adapt(em_c, lg_c, y[idx][vcell], groups=vcell, primary=vprim, **common)
                res = better(res, res_c, colour, clf.colour_view)  # type: ignore[attr-defined]
        except AdaptError:
            res = None
        out["seconds"] = time.perf_counter() - t0
        if res is not None and not res.refusal:
            path = tmp / f"{name}-{k}-{seed}.json"
            used = res.profile.save(path)
            out["size"] = path.stat().st_size
            out["profile"] = used
            if used.colour is not None:  # the rest seen through the calibration
                calibrated = embed(clf, used.colour.apply(crops[rest]))
                rest_logits, rest_emb = seen_through(
                    used.colour_view, (rest_logits, rest_emb), calibrated
                )
    if used is not None:
        z = used.adjusted_logits(rest_logits, rest_emb)
        base_t = float(clf.temperature)  # type: ignore[attr-defined]
        out["not_learnt"] = float(used.unlearnt(rest_logits, z.argmax(1), base_t).mean())
    else:
        z = rest_logits
    out["pred"] = z.argmax(1)
    out["sent"] = flagged(clf, rest_logits, rest_emb, used, raw_emb)
    return out


def flagged(
    clf: object, logits: np.ndarray, emb: np.ndarray, profile: object, raw_emb: np.ndarray
) -> np.ndarray:
    """The cells the classifier sends to review: low confidence, unfamiliar (the shipped
    statistics; with a colour calibration, the more unfamiliar of the calibrated and the
    camera's crop) and, with a profile, a class the profile had no cell of."""
    t = float(clf.temperature)  # type: ignore[attr-defined]
    probs = (
        softmax(logits, t) if profile is None else profile.probabilities(logits, emb)  # type: ignore[attr-defined]
    )
    out = probs.max(1) < clf.threshold_with(profile)  # type: ignore[attr-defined]
    unfamiliar = getattr(clf, "unfamiliar", None)
    if unfamiliar is not None:
        part = clf.embedding_of  # type: ignore[attr-defined]
        out |= unfamiliar.flags(part(emb)) | unfamiliar.flags(part(raw_emb))
    if profile is not None:
        out |= profile.unlearnt(logits, probs.argmax(1), t)  # type: ignore[attr-defined]
    return np.asarray(out, bool)


def pbc_with_profiles(
    pipeline: Pipeline, data: Path, every: int, profiles: dict[str, object]
) -> dict[str, float]:
    """PBC validation accuracy, shipped and with each laboratory's k=100 profile."""
    clf = pipeline.classifier
    samples, _ = list_samples(data / "pbc", list(clf.classes))
    training = clf.card.get("training", {})  # type: ignore[attr-defined]
    seed = int(training.get("split_seed", training.get("seed", PBC_SEED)))  # type: ignore[attr-defined]
    _, val = stratified_split(samples, 0.15, seed)  # the classifier's own validation split
    val = val[::every]
    crops = []
    for s in val:
        crop, _ = frame_single_cell(
            load_rgb(s.path),
            clf.input_size,  # type: ignore[attr-defined]
            clf.crop_scale,
            pipeline.detector,
            "rgb",
        )
        crops.append(crop)
    logits, emb = embed(clf, np.stack(crops))
    y = np.array([s.label for s in val])
    out = {"cells": float(len(y)), "shipped": float((logits.argmax(1) == y).mean())}
    base_t = float(clf.temperature)  # type: ignore[attr-defined]
    raw = np.stack(crops)
    for name, prof in profiles.items():
        colour = prof.colour  # type: ignore[attr-defined]
        logits, emb = embed(clf, raw)
        if colour is not None:  # the other laboratory's colour map applied to PBC's crops
            calibrated = embed(clf, colour.apply(raw))
            logits, emb = seen_through(prof.colour_view, (logits, emb), calibrated)  # type: ignore[attr-defined]
        pred = prof.adjusted_logits(logits, emb).argmax(1)  # type: ignore[attr-defined]
        out[name] = float((pred == y).mean())
        # The classes the profile had no cell of: right, or flagged for review.
        unseen = prof.unlearnt(logits, pred, base_t)  # type: ignore[attr-defined]
        absent = ~np.isin(y, [clf.classes.index(c) for c in prof.cells_per_class])  # type: ignore[attr-defined]
        out[f"{name}_unlearnt_classes_right"] = float((pred == y)[absent].mean())
        out[f"{name}_unlearnt_classes_right_or_flagged"] = float(
            ((pred == y) | unseen)[absent].mean()
        )
        out[f"{name}_flagged"] = float(unseen.mean())
    return out


def classification_cost(
    pipeline: Pipeline, profiles: list[object], n: int = 256
) -> dict[str, float]:
    """ms per cell of `classify_crops` (batch 16), shipped and with each profile (a head
    refit; a colour calibration, which also scores each crop unfamiliar as the camera gave
    it): the best of 9 runs each, taken in turns so that a busy machine weighs on all alike."""
    clf = pipeline.classifier
    rng = np.random.default_rng(0)
    size = clf.input_size  # type: ignore[attr-defined]
    crops = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    chosen: dict[str, object | None] = {"shipped": None}
    for prof in profiles:
        chosen.setdefault(prof.kind, prof)  # type: ignore[attr-defined]
    best = dict.fromkeys(chosen, float("inf"))
    clf.classify_crops(crops[:16])
    for _ in range(9):
        for label, prof in chosen.items():
            clf.set_profile(prof)  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            clf.classify_crops(crops)
            best[label] = min(best[label], time.perf_counter() - t0)
    clf.set_profile(None)  # type: ignore[attr-defined]
    # The profile's own step (one small matrix product and a softmax), alone.
    logits, emb = clf.logits_and_descriptor(crops)  # type: ignore[attr-defined]
    step = float("inf")
    for _ in range(9):
        t0 = time.perf_counter()
        profiles[0].probabilities(logits, emb)  # type: ignore[attr-defined]
        step = min(step, time.perf_counter() - t0)
    out = {label: 1000 * t / n for label, t in best.items()}
    out["profile_step_alone"] = 1000 * step / n
    return out


def colour_only(pipeline: Pipeline, crops: np.ndarray) -> list[object]:
    """The profiles ``adapt --colour-only`` makes from a laboratory's crops: the colour
    calibration alone (``--no-neighbours``) and with the crops as neighbours."""
    try:
        return [
            colour_profile(pipeline, crops, "colour only", neighbours=False),
            colour_profile(pipeline, crops, "colour and neighbours"),
        ]
    except CalibrationError:
        return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--k", type=int, nargs="+", default=[0, 10, 25, 50, 100])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--pbc-every", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--cache", type=Path, help="keep the laboratories' embeddings here")
    args = ap.parse_args()
    pipeline = Pipeline.load(threads=args.threads)
    card = pipeline.classifier.card  # type: ignore[attr-defined]
    print(f"classifier {card.get('name')} {card.get('version')} sha256 {card['sha256'][:12]}")
    print(f"{'lab':<9}{'k':>5}{'rest':>6}  {'accuracy':>15}  {'balanced':>15}  refused  time  size")
    rows: list[dict[str, object]] = []
    k100: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind, root in other_labs(args.data):
            cache = args.cache / f"{name}-crops-{card['sha256'][:12]}.npz" if args.cache else None
            if cache is not None and cache.is_file():
                with np.load(cache) as z:
                    lab = {key: z[key] for key in z.files}
                lab["classes"] = tuple(str(c) for c in lab["classes"])  # type: ignore[union-attr]
            else:
                lab = lab_embeddings(pipeline, root, kind)
                if cache is not None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    np.savez(cache, **lab)  # type: ignore[arg-type]
            lab_rows, profiles = learning_curve(lab, name, args.k, args.draws, pipeline, Path(tmp))
            crops = np.asarray(lab["crops"])
            rows += lab_rows
            if profiles:
                k100[name] = profiles[max(profiles)]
    result: dict[str, object] = {"classifier_sha256": card["sha256"], "rows": rows}
    if (args.data / "pbc").is_dir() and k100:
        pbc = pbc_with_profiles(pipeline, args.data, args.pbc_every, k100)
        print(f"PBC validation (every {args.pbc_every}th cell): " + json.dumps(pbc))
        result["pbc_with_foreign_profile"] = pbc
    if k100:
        cost = classification_cost(pipeline, [*k100.values(), *colour_only(pipeline, crops)])
        print(f"classifier cost per cell (batch 16): {json.dumps(cost)}")
        result["ms_per_cell"] = cost
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
