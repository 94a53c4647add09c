"""The shipped classifier on other laboratories' cells and on things that are no cell.

The minimum figures are the ones measured for the shipped model (models/classifier.json,
``metrics.cross_lab``) less a margin for the subsample taken here; they fail when a
model change makes other laboratories worse.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from hemoscope.vision import cross_lab
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.datasets import Sample
from hemoscope.vision.detector import Detector
from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH, blur_width
from hemoscope.vision.model_card import models_dir
from hemoscope.vision.pipeline import Pipeline

OTHER_LABS = Path(__file__).resolve().parents[3] / "shared" / "data" / "other-labs"
S = 128
GLASS = (254.0, 228.0, 202.0)

# (set, mode, every n-th image, minimum accuracy, minimum balanced accuracy): the card's
# figures (jiangxi 75.7 % / 59.0 %, bionet 78.1 % / 77.9 %; its float source 76.3 % /
# 59.3 % and 77.0 % / 76.7 %) less a margin for the subsample; the classifier before
# domain-adversarial training scored 49.3 % / 44.5 % and 60.9 % / 39.3 %, the first
# domain-adversarial one 73.0 % / 55.5 % and 65.4 % / 44.4 %.
MINIMA = {
    "jiangxi": ("cells", 2, 0.72, 0.54),
    "bionet": ("fields", 3, 0.72, 0.68),
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(threads=2)


def test_the_card_records_the_cross_lab_table_and_the_new_signals() -> None:
    card = json.loads((models_dir() / "classifier.json").read_text(encoding="utf-8"))
    names = [row["name"] for row in card["metrics"]["cross_lab"]["table"]]
    assert names == [
        f"{name}{view}"
        for name in ("pbc-val", "jiangxi", "bionet")
        for view in ("", "+colour", "+colour alone", "+neighbours")
    ]
    rows = {row["name"]: row for row in card["metrics"]["cross_lab"]["table"]}
    for row in rows.values():
        assert 0 <= row["flagged_fraction"] <= 1 and 0 <= row["accuracy"] <= 1
    # The laboratory's own colour calibration as the station applies it (the camera's and
    # the calibrated crop averaged): better on bionet (77.8 -> 80.6 %), within a point on
    # jiangxi (75.7 -> 76.0 %), PBC kept.
    assert rows["bionet+colour"]["accuracy"] > rows["bionet"]["accuracy"] + 0.02
    assert rows["jiangxi+colour"]["accuracy"] > rows["jiangxi"]["accuracy"] - 0.02
    assert abs(rows["pbc-val+colour"]["accuracy"] - rows["pbc-val"]["accuracy"]) < 0.005
    # The card's colour_view is the view measured better on both laboratories: balanced
    # accuracy better on both, accuracy better or within one cell (bionet, since the
    # quarter turn is for unsure cells only: 80.6 against 80.9 %, balanced 74.2 against
    # 70.1 %; jiangxi 76.0 against 73.3 %).
    assert card["colour_view"] == "average"
    for lab in ("jiangxi", "bionet"):
        avg, alone = rows[f"{lab}+colour"], rows[f"{lab}+colour alone"]
        assert avg["accuracy"] >= alone["accuracy"] - 1 / avg["cells"] - 1e-4, lab
        assert avg["balanced_accuracy"] >= alone["balanced_accuracy"], lab
    # The laboratory's own cells as neighbours (fitted on the other half of each set):
    # bionet 77.8 -> 90.0 %, jiangxi 75.7 -> 78.3 %, PBC within a point; the cells left
    # unflagged right at least 95 % of the time on both laboratories (the target; 100 %
    # on jiangxi, 96.0 % on bionet, 97.0 % with the float source).
    assert rows["bionet+neighbours"]["accuracy"] > rows["bionet"]["accuracy"] + 0.10
    assert rows["jiangxi+neighbours"]["accuracy"] > rows["jiangxi"]["accuracy"]
    assert abs(rows["pbc-val+neighbours"]["accuracy"] - rows["pbc-val"]["accuracy"]) < 0.01
    for lab in ("jiangxi", "bionet"):
        assert rows[f"{lab}+neighbours"]["accuracy_unflagged"] >= 0.95, lab
    assert len(card["colour_reference"]["mean"]) == 3
    assert card["unfamiliar"]["threshold"] > 0
    levels = card["unfamiliar"]["thresholds"]  # one per review sensitivity, each stricter
    assert levels["standard"] == card["unfamiliar"]["threshold"] > levels["high"]
    assert levels["high"] > levels["highest"] > 0
    assert "leave_one_lab_out" in card["review_calibration"]


def lab_sample(name: str, classifier: Classifier) -> tuple[list[Sample], Pipeline]:
    """Every n-th labelled image of an other laboratory (`MINIMA`), and a pipeline with
    ``classifier``; skips when the set is absent."""
    folder = OTHER_LABS / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    every = MINIMA[name][1]
    samples = cross_lab.labelled_samples(folder, classifier.classes)[::every]
    return samples, Pipeline(Detector(threads=2), classifier)


def measure(name: str, samples: list[Sample], pipeline: Pipeline) -> cross_lab.SetResult:
    """The set as `benchmarks/cross_lab.py` measures it: fields through the pipeline,
    single-cell images framed as ``hemoscope classify`` frames them."""
    if MINIMA[name][0] == "fields":
        return cross_lab.measure_fields(name, samples, pipeline)
    return cross_lab.measure_cells(name, samples, pipeline.classifier, pipeline.detector)


@pytest.mark.parametrize("name", sorted(MINIMA))
def test_other_laboratories_minimum_accuracy(name: str, classifier: Classifier) -> None:
    samples, pipeline = lab_sample(name, classifier)
    _, _, min_acc, min_bal = MINIMA[name]
    res = measure(name, samples, pipeline)
    assert res.n == len(samples) and not res.unreadable
    assert res.accuracy >= min_acc, cross_lab.format_table([res])
    assert res.balanced_accuracy >= min_bal, cross_lab.format_table([res])
    assert 0.0 < res.flagged_fraction < 1.0
    # A stricter review sensitivity changes which cells are flagged, not their classes.
    classifier.set_sensitivity("high")
    try:
        high = measure(name, samples, pipeline)
    finally:
        classifier.set_sensitivity("standard")
    assert high.accuracy == res.accuracy and high.flagged_fraction > res.flagged_fraction


def _glass() -> npt.NDArray[np.float64]:
    return np.zeros((S, S, 3)) + GLASS


def _noisy(img: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def non_cells() -> dict[str, npt.NDArray[np.uint8]]:
    """Crops a white-cell detection can bring that show no white cell of any class."""
    rng = np.random.default_rng(0)
    smudge = _glass()
    for _ in range(40):
        c = (int(64 + rng.normal(0, 14)), int(64 + rng.normal(0, 10)))
        cv2.circle(smudge, c, int(rng.uniform(6, 14)), (185, 150, 205), -1)
    blurred = _glass()
    cv2.circle(blurred, (64, 64), 30, (150, 110, 170), -1)
    cv2.circle(blurred, (60, 62), 12, (70, 30, 110), -1)
    return {
        "bare glass": _noisy(_glass(), rng),
        "smudge": _noisy(cv2.GaussianBlur(smudge, (0, 0), 4), rng),
        "out of focus": _noisy(cv2.GaussianBlur(blurred, (0, 0), 7), rng),
        "noise": rng.integers(0, 256, (S, S, 3)).astype(np.uint8),
        "black": np.zeros((S, S, 3), np.uint8),
    }


def test_generated_non_cells_are_flagged_unfamiliar(classifier: Classifier) -> None:
    if classifier.unfamiliar is None:
        pytest.fail("the shipped classifier has no unfamiliar-cell statistics")
    crops = {k: v for k, v in non_cells().items() if k != "out of focus"}
    res = classifier.classify_crops(np.stack(list(crops.values())))
    flagged = {name: res.reasons[i] for i, name in enumerate(crops)}
    assert all(res.review), flagged
    assert all("unfamiliar" in why for why in flagged.values()), flagged
    # By their nearest-neighbour score, or past its Mahalanobis guard: bare glass points
    # the way PBC's platelet images do (close neighbours) but lies far from every class.
    assert classifier.unfamiliar.flags(res.embedding).all()
    if classifier.unfamiliar.method == "nearest":
        glass = list(crops).index("bare glass")
        assert classifier.unfamiliar.beyond_guard(res.embedding[glass : glass + 1])[0]


def test_a_generated_out_of_focus_blob_is_flagged_by_its_blur(classifier: Classifier) -> None:
    # The embedding finds the blob familiar (a soft erythroblast to a classifier trained
    # on softer laboratories); the focus check (`vision.focus`) flags it.
    res = classifier.classify_crops(non_cells()["out of focus"][None])
    assert res.review[0] and "unfamiliar" in res.reasons[0], res.reasons
    assert res.blur[0] > OUT_OF_FOCUS_WIDTH


def test_other_laboratories_real_cells_are_not_called_out_of_focus(
    classifier: Classifier,
) -> None:
    folder = OTHER_LABS / "jiangxi"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    samples = cross_lab.labelled_samples(folder, classifier.classes)[::3]
    images = [cv2.imread(str(s.path)) for s in samples]
    crops = np.stack([classifier.crop_whole_image(im) for im in images])
    widths = blur_width(crops)
    assert len(widths) == len(samples) and widths.max() < OUT_OF_FOCUS_WIDTH
    assert widths.min() > 1.0  # real edges, however soft


def test_red_cells_or_debris_alone_are_named_platelet_so_a_white_cell_box_is_flagged(
    classifier: Classifier,
) -> None:
    """What the classifier makes of a white-cell box with no white cell in it: the
    pipeline flags a white cell's box named platelet ('detector and classifier
    disagree', tests/vision/test_vision_pipeline.py)."""
    rng = np.random.default_rng(1)
    reds = _glass()
    debris = _glass()
    for cx, cy in [(30, 30), (64, 64), (98, 40), (40, 100), (100, 100), (64, 20)]:
        cv2.circle(reds, (cx, cy), 13, (208, 171, 169), -1)
    cv2.ellipse(debris, (64, 64), (9, 5), 30, 0, 360, (40, 30, 50), -1)
    res = classifier.classify_crops(np.stack([_noisy(reds, rng), _noisy(debris, rng)]))
    assert res.labels == ("platelet", "platelet")


CALIBRATED_MINIMA = {"jiangxi": (0.70, -0.03, -0.03), "bionet": (0.76, 0.01, 0.0)}
"""(minimum accuracy, minimum gain in accuracy, minimum gain in balanced accuracy over
the uncalibrated cells). The classifier averages the camera's and the calibrated crop
(`vision.classifier.colour_average`). Measured on these samples with the 8-bit
classifier: bionet 78.5 -> 80.2 % (balanced 77.1 -> 77.9 %; its camera's crops do better
than the float source's, 76.9 %, which the calibration lifted to the same 80.2 %, balanced
75.0 -> 77.9 %). With the float source: jiangxi 76.7 -> 76.7 %; with the calibrated
crop alone bionet gained more accuracy (81.2 % on all its fields) but lost balanced
accuracy (its lymphocytes and neutrophils), jiangxi lost 2.7 points."""


@pytest.mark.parametrize("name", sorted(CALIBRATED_MINIMA))
def test_other_laboratories_with_their_own_colour_calibration(
    name: str, classifier: Classifier
) -> None:
    """Each laboratory calibrated from its own sampled images, labels unused, as
    ``hemoscope adapt --colour-only`` does: above a minimum, and gaining at least a given
    amount (bionet) or losing at most a little (jiangxi), in accuracy and in balanced
    accuracy."""
    from hemoscope.vision import microscope_cells

    samples, pipeline = lab_sample(name, classifier)
    kind = "fields" if MINIMA[name][0] == "fields" else "cells"
    crops, _, _ = microscope_cells.from_paths([s.path for s in samples], kind, pipeline)
    classifier.set_profile(None)
    before = measure(name, samples, pipeline)
    classifier.set_profile(microscope_cells.colour_profile(pipeline, crops, name, neighbours=False))
    try:
        after = measure(name, samples, pipeline)
    finally:
        classifier.set_profile(None)
    table = cross_lab.format_table([before, after])
    minimum, gain, balanced_gain = CALIBRATED_MINIMA[name]
    assert after.accuracy >= minimum, table
    assert after.accuracy > before.accuracy + gain, table
    assert after.balanced_accuracy >= before.balanced_accuracy + balanced_gain, table


NEIGHBOUR_MINIMA = {"jiangxi": (0.02, 0.95), "bionet": (0.08, 0.95)}
"""(minimum gain in accuracy, minimum accuracy of the unflagged cells) with a profile
of the laboratory's own cells (colour calibration and neighbours, labels unused) fitted
on one half of the sample and measured on the other. Measured on these halves: jiangxi
73.3 -> 77.3 % (unflagged 88.2 -> 100 %, flagged 32 -> 59 %), bionet 75.4 -> 86.9 %
(86.8 -> 100 %, 38 -> 57 %)."""


@pytest.mark.parametrize("name", sorted(NEIGHBOUR_MINIMA))
def test_other_laboratories_with_their_own_cells_as_neighbours(
    name: str, classifier: Classifier
) -> None:
    """As ``hemoscope adapt --colour-only`` makes the profile; no cell votes for itself."""
    from hemoscope.vision import microscope_cells

    samples, pipeline = lab_sample(name, classifier)
    order = np.random.default_rng(5).permutation(len(samples))
    bank = [samples[i] for i in order[: len(order) // 2]]
    scored = [samples[i] for i in order[len(order) // 2 :]]
    kind = "fields" if MINIMA[name][0] == "fields" else "cells"
    crops, _, _ = microscope_cells.from_paths([s.path for s in bank], kind, pipeline)
    classifier.set_profile(None)
    before = measure(name, scored, pipeline)
    profile = microscope_cells.colour_profile(pipeline, crops, name)
    assert profile.neighbours is not None and profile.neighbours.cells == len(crops)
    classifier.set_profile(profile)
    try:
        after = measure(name, scored, pipeline)
    finally:
        classifier.set_profile(None)
    table = cross_lab.format_table([before, after])
    gain, unflagged = NEIGHBOUR_MINIMA[name]
    assert after.accuracy >= before.accuracy + gain, table
    assert after.accuracy_unflagged >= unflagged, table
