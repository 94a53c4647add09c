"""What a laboratory's own cells as neighbours (`vision.lab_neighbours`) do to classes that
are rare among them: a laboratory calibrates on ordinary samples, then meets a sample
with erythroblasts, immature granulocytes or basophils.

    python benchmarks/neighbours_rare.py [--data ../shared/data/pbc] [--bank 300]
                                         [--bank-from half|train]

The shipped classifier's PBC validation split (the training laboratory, so the classes
themselves are known to be right) is halved at random. From one half a bank of ``--bank``
cells is drawn with the make-up of an ordinary adult differential (neutrophils 60 %,
lymphocytes 30 %, monocytes 6 %, eosinophils 3 %, basophils and immature granulocytes
0.5 % each, no erythroblasts, no platelets), and a neighbourhood fitted on it (labels
unused) as ``hemoscope adapt --colour-only`` fits one (no colour calibration: the
classifier's own laboratory). Every cell of the other half is then classified without
and with that profile, as the station classifies (`Classifier.classify_crops`): per
class, the share called right, called wrong and not flagged (the dangerous case), and
flagged for review. ``--bank-from train`` draws the bank from the training split
instead (enough cells for a bank of 2,000; the classifier knows those cells well, so
their votes are cleaner than a new laboratory's would be), and every validation cell is
scored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.training.colour_reference import nominal_crops  # noqa: E402
from hemoscope.training.pbc_data import list_samples, stratified_split  # noqa: E402
from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.lab_neighbours import Neighbourhood  # noqa: E402
from hemoscope.vision.lab_profile import LabProfile  # noqa: E402

ORDINARY = {
    "neutrophil": 0.60,
    "lymphocyte": 0.30,
    "monocyte": 0.06,
    "eosinophil": 0.03,
    "basophil": 0.005,
    "ig": 0.005,
    "erythroblast": 0.0,
    "platelet": 0.0,
}
SEED = 20261205


def profile_of(clf: Classifier, crops: np.ndarray) -> LabProfile:
    """A profile of the shipped head and a neighbourhood of ``crops``."""
    logits, desc = clf.seen_by(crops, None)
    return LabProfile.unlabelled(
        classes=tuple(clf.classes),
        embedding_size=desc.shape[1],
        base_temperature=clf.temperature,
        models={"classifier": clf.card},
        name="ordinary samples",
        neighbours=Neighbourhood.fit(desc, softmax(logits, clf.temperature)),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pbc")
    ap.add_argument("--bank", type=int, default=300, help="cells in the bank")
    ap.add_argument("--bank-from", choices=("half", "train"), default="half")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    clf = Classifier(threads=args.threads)
    classes = list(clf.classes)
    samples, _ = list_samples(args.data, classes)
    if not samples:
        print(f"no PBC images under {args.data}", file=sys.stderr)
        return 1
    train, val = stratified_split(samples, 0.15, 20261122)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(val))
    if args.bank_from == "train":
        source, half, scored = train, np.arange(len(train)), np.arange(len(val))
    else:
        source, half, scored = val, order[: len(order) // 2], order[len(order) // 2 :]
    labels = np.array([s.label for s in val])
    source_labels = np.array([s.label for s in source])
    bank: list[int] = []
    for name, share in ORDINARY.items():
        pool = half[source_labels[half] == classes.index(name)]
        n = min(len(pool), round(share * args.bank))
        bank += rng.choice(pool, n, replace=False).tolist()
    made_of = {classes[k]: int((source_labels[bank] == k).sum()) for k in range(len(classes))}
    print(f"classifier {clf.version}; bank of {len(bank)} {args.bank_from} cells: {made_of}")
    profile = profile_of(clf, nominal_crops([source[i].path for i in bank]))
    crops = nominal_crops([val[i].path for i in scored])
    truth = labels[scored]
    plain = clf.classify_crops(crops)
    clf.set_profile(profile)
    voted = clf.classify_crops(crops)
    clf.set_profile(None)
    print(f"{'class':<14}{'cells':>6}   right / wrong unflagged / flagged")
    print(f"{'':<20}{'without':>20}{'with the neighbourhood':>36}")
    for k, name in enumerate(classes):
        rows = truth == k
        cols = []
        for res in (plain, voted):
            called = np.array([classes.index(c) for c in res.labels])[rows]
            right, flagged = called == k, np.asarray(res.review)[rows]
            cols.append(
                f"{right.mean():6.1%} / {(~right & ~flagged).mean():5.1%} / {flagged.mean():6.1%}"
            )
        print(f"{name:<14}{rows.sum():>6}   {cols[0]}   ->   {cols[1]}")
    rare = sum("rare among" in r for r in voted.reasons)
    print(f"cells flagged as of a class rare among the bank's cells: {rare} of {len(truth)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
