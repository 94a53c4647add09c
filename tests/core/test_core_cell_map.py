"""The cell map's projection: fixed by the model's statistics, so adding a cell moves no
other; the embedding kept as float16 on the cell."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from hemoscope.core import (
    REASON_UNFAMILIAR,
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Embedding,
    Field,
    MapProjection,
    ModelStamp,
    Relabel,
    cell_map,
    stack_embeddings,
)

D = 16
WHEN = datetime(2026, 1, 5, tzinfo=UTC)
CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil")


def _statistics(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, (len(CLASSES), D))
    a = rng.normal(0, 1, (D, D))
    cov = a @ a.T / D + 0.5 * np.eye(D)
    vals, vecs = np.linalg.eigh(cov)
    whiten = vecs @ np.diag(vals**-0.5) @ vecs.T
    return means, whiten


def _cell(i: int, vector: np.ndarray | None, cls: str = "neutrophil", **kw: object) -> Cell:
    emb = None if vector is None else Embedding.from_vector(vector)
    return Cell(f"c{i}", Box(i, i, i + 10, i + 10), CellKind.WBC, cls, embedding=emb, **kw)  # type: ignore[arg-type]


def _case(cells: list[Cell]) -> Case:
    return Case(CaseInfo("M-1"), (Field("f1", tuple(cells), 200, 200, "cam", WHEN),))


def test_embedding_keeps_three_digits_in_two_bytes_a_number() -> None:
    v = np.linspace(-7.3, 9.1, 192)
    e = Embedding.from_vector(v)
    assert e.dim == 192 and len(e.data) == 384
    assert np.allclose(e.vector(), v, rtol=1e-3, atol=1e-3)
    assert stack_embeddings([e, e]).shape == (2, 192)
    with pytest.raises(ValueError):
        Embedding.from_vector([1.0, float("nan")])
    with pytest.raises(ValueError):
        stack_embeddings([e, Embedding.from_vector([1.0, 2.0])])


def test_the_embedding_takes_no_part_in_comparing_cells_and_survives_corrections() -> None:
    a = _cell(1, np.ones(D))
    assert a == replace(a, embedding=None)
    case = _case([a])
    after = Relabel("f1", "c1", "monocyte").bind(case).apply(case)
    moved = after.fields[0].cells[0]
    assert moved.final_class == "monocyte" and moved.embedding == a.embedding


def test_class_means_project_onto_their_centres_and_the_unit_is_the_within_class_sd() -> None:
    means, whiten = _statistics()
    proj = MapProjection.discriminant(means, whiten, CLASSES)
    assert proj.centres.shape == (4, 2)
    assert np.allclose(proj.project(means), proj.centres)
    # The axes are orthonormal in the whitened space: a class's cells spread with sd 1.
    cov = np.linalg.inv(whiten @ whiten)
    rng = np.random.default_rng(1)
    cells = rng.multivariate_normal(means[0], cov, 20_000)
    spread = proj.project(cells).std(axis=0)
    assert np.allclose(spread, 1.0, atol=0.03)
    # Distinct centres: the plane separates the classes.
    gaps = np.linalg.norm(proj.centres[:, None] - proj.centres[None], axis=-1)
    assert gaps[np.triu_indices(4, 1)].min() > 0.5
    # Deterministic: the same statistics give the same plane.
    again = MapProjection.discriminant(means.copy(), whiten.copy(), CLASSES)
    assert np.array_equal(again.axes, proj.axes)


def test_adding_a_cell_moves_no_other_cell() -> None:
    means, whiten = _statistics()
    proj = MapProjection.discriminant(means, whiten, CLASSES)
    rng = np.random.default_rng(5)
    cells = [_cell(i, rng.normal(0, 3, D)) for i in range(30)]
    before = cell_map(_case(cells), proj)
    far = _cell(99, np.full(D, 40.0), "monocyte")  # an outlier that would turn a PCA
    after = cell_map(_case([*cells[:10], far, *cells[10:]]), proj)
    assert len(before) == 30 and len(after) == 31
    where = {p.cell_id: tuple(xy) for p, xy in zip(after.points, after.xy, strict=True)}
    for p, xy in zip(before.points, before.xy, strict=True):
        assert where[p.cell_id] == tuple(xy)


def test_the_map_has_one_point_per_classified_cell_with_an_embedding() -> None:
    means, whiten = _statistics()
    proj = MapProjection.discriminant(means, whiten, CLASSES)
    cells = [
        _cell(0, np.zeros(D), review=True, review_reason=REASON_UNFAMILIAR),
        _cell(1, np.ones(D), "lymphocyte", final_class="monocyte"),
        _cell(2, None),  # saved before embeddings were kept
        _cell(3, np.ones(4)),  # another model's dimension
        Cell("r", Box(0, 0, 5, 5), CellKind.RBC),  # not classified
    ]
    m = cell_map(_case(cells), proj)
    assert [p.cell_id for p in m.points] == ["c0", "c1"] and m.missing == 2
    assert m.points[0].flagged and m.points[0].unfamiliar and not m.points[1].flagged
    assert m.points[1].class_id == "monocyte" and m.points[1].corrected
    assert m.xy.shape == (2, 2)
    assert len(cell_map(None, proj)) == 0


def test_fields_analysed_by_another_classifier_are_not_placed() -> None:
    means, whiten = _statistics()
    proj = MapProjection.discriminant(means, whiten, CLASSES, model_sha256="a" * 64)
    cells = (_cell(0, np.zeros(D)), _cell(1, np.ones(D)))
    ours = Field("f1", cells, 200, 200, "cam", WHEN, (ModelStamp("clf", "1", "a" * 64),))
    older = Field("f2", cells, 200, 200, "cam", WHEN, (ModelStamp("clf", "0", "b" * 64),))
    unstamped = Field("f3", cells, 200, 200, "cam", WHEN)
    m = cell_map(Case(CaseInfo("M-1"), (ours, older, unstamped)), proj)
    # The older model's embeddings live in another space: counted as missing, not drawn.
    assert [p.field_id for p in m.points] == ["f1", "f1", "f3", "f3"] and m.missing == 2
    # A projection that does not know its model places every field.
    anyone = MapProjection.discriminant(means, whiten, CLASSES)
    assert len(cell_map(Case(CaseInfo("M-1"), (ours, older)), anyone)) == 4
