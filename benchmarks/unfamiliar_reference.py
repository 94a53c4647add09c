"""What other laboratories' unlabelled white cells would do in the unfamiliar-cell
reference: fewer of another laboratory's ordinary cells flagged, and how many fewer cells
of a class the reference lacks.

    python benchmarks/unfamiliar_reference.py --domains DIR [--held-out ig] [--data ../shared/data]

The shipped classifier's reference (its training cells' embeddings, `vision.unfamiliar`)
is scored as shipped and with the cells of ``--domains`` added (a folder of one folder
per laboratory, as ``train classifier --domains`` takes it: TXL-PBC's sources from
``pseudo-labels --domains-only``, a laboratory from ``lab-domains``), each laboratory's
cells framed as training frames them. Thresholds are the card's, one per review
sensitivity. Printed per reference, the share flagged unfamiliar of:

- PBC's validation cells;
- the validation cells of the ``--held-out`` class, with that class's training cells
  taken out of the reference: the stand-in for a kind of cell the classifier has no class
  for (the classifier itself still knows the class, so this measures the reference
  alone, not a leave-one-class-out model);
- each laboratory under ``other-labs`` (cells as `bench_adapt.py` takes them; a
  laboratory whose cells are among the added ones is no longer a fair measure).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs  # noqa: E402
from unfamiliar_scores import outputs  # noqa: E402

from hemoscope.training.colour_reference import nominal_crops  # noqa: E402
from hemoscope.training.domain_adversarial import load_domains  # noqa: E402
from hemoscope.training.pbc_data import list_samples, stratified_split  # noqa: E402
from hemoscope.training.train_classifier import CLASSES  # noqa: E402
from hemoscope.vision.crops import cut_crop  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402
from hemoscope.vision.unfamiliar import fit_nearest, nearest_scores  # noqa: E402


def embeddings(clf: object, crops: np.ndarray) -> np.ndarray:
    """Embeddings, every crop turned as `unfamiliar_scores.outputs` takes them."""
    return outputs(clf, crops)[1]


def domain_embeddings(clf: object, root: Path) -> dict[str, np.ndarray]:
    """Each laboratory's cells under ``root``, framed as training frames PBC's images."""
    from hemoscope.training.train_classifier import nominal_geometry

    names, images, labs = load_domains(root)
    size = int(clf.input_size)  # type: ignore[attr-defined]
    out = {}
    for k, name in enumerate(names, start=1):
        crops = [
            cut_crop(img, *nominal_geometry(img), size)
            for img, lab in zip(images, labs, strict=True)
            if lab == k
        ]
        out[name] = embeddings(clf, np.stack(crops))
    return out


def flagged(emb: np.ndarray, reference: np.ndarray, k: int, thresholds: dict[str, float]) -> str:
    s = nearest_scores(emb, reference, k)
    return " / ".join(f"{100 * (s > t).mean():5.1f}" for t in thresholds.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domains", required=True, type=Path, help="one folder per laboratory")
    ap.add_argument("--held-out", default="ig", choices=CLASSES)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if not (args.data / "pbc").is_dir():
        print(f"{args.data / 'pbc'} not found", file=sys.stderr)
        return 1
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    model = clf.unfamiliar  # type: ignore[attr-defined]
    if model is None or model.reference is None:
        print("the classifier has no nearest-neighbour reference", file=sys.stderr)
        return 1
    card = clf.card  # type: ignore[attr-defined]
    samples, _ = list_samples(args.data / "pbc", CLASSES)
    seed = int(card["training"].get("split_seed", card["training"]["seed"]))
    train_s, val_s = stratified_split(samples, 0.15, seed)
    y_train = np.array([s.label for s in train_s])
    if len(y_train) != len(model.reference):
        print("the reference is not this training split's", file=sys.stderr)
        return 1
    held = CLASSES.index(args.held_out)
    y_val = np.array([s.label for s in val_s])
    val = embeddings(clf, nominal_crops([s.path for s in val_s]))
    labs = {name: embeddings(clf, lab_cells(pipeline, root, kind).array())
            for name, kind, root in other_labs(args.data)}  # fmt: skip
    added = domain_embeddings(clf, args.domains)
    extra = fit_nearest(np.concatenate(list(added.values())))
    thresholds = dict(model.thresholds)
    print(f"classifier {card['version']} sha256 {card['sha256'][:12]}; k = {model.k}")
    print("added: " + ", ".join(f"{n} {len(e)}" for n, e in added.items()))
    print("flagged unfamiliar, % at " + " / ".join(thresholds))
    references = {
        "as shipped": model.reference,
        "with the added cells": np.concatenate([model.reference, extra]),
    }
    for label, ref in references.items():
        without = np.concatenate([model.reference[y_train != held], ref[len(model.reference) :]])
        print(f"{label}:")
        print(f"  {'PBC validation':<34}{flagged(val, ref, model.k, thresholds)}")
        print(f"  {args.held_out + ' held out of the reference':<34}"
              f"{flagged(val[y_val == held], without, model.k, thresholds)}")  # fmt: skip
        for name, emb in labs.items():
            seen = " (among the added)" if name in added else ""
            print(f"  {name + seen:<34}{flagged(emb, ref, model.k, thresholds)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
