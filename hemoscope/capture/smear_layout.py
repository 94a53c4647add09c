"""Where the cells of the synthetic smear lie: a seeded layout on a torus.

White cells are placed first (about `WBC_PER_FIELD` per 640 x 480 field, well apart),
then red cells by random sequential placement (touching, a few overlapping, denser in
some regions than in others), then platelets, mostly in the gaps and now and then in
small clumps. The plane wraps round (a cell over the right edge continues on the left),
so the rendered image tiles seamlessly. The layout is also the ground truth of what a
simulated field shows (`SimulatedMicroscope.visible_cells`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hemoscope.capture.smear_wbc import WBC_KINDS

RBC_COVERAGE = 0.5
"""Mean fraction of the area under red cells."""
WBC_PER_FIELD = 0.8
FIELD_AREA = 640 * 480
PLATELETS_PER_RBC = 1 / 12


@dataclass(frozen=True)
class SmearCell:
    """One cell: "rbc", "platelet" or a white-cell kind ("neutrophil", ...), its centre
    and its outline radius, in pixels."""

    kind: str
    x: float
    y: float
    radius: float

    @property
    def is_wbc(self) -> bool:
        return self.kind in WBC_KINDS


@functools.lru_cache(maxsize=4)
def smear_layout(
    width: int, height: int, seed: int = 0, rbc_diameter: float = 80.0
) -> tuple[SmearCell, ...]:
    """The cells of the smear for these settings: white cells, red cells, platelets."""
    rng = np.random.default_rng([seed, 0])
    radius = rbc_diameter / 2
    grid = _Grid(width, height, 2 * radius)
    wbcs = _white_cells(width, height, radius, grid, rng)
    rbcs = _red_cells(width, height, radius, grid, rng)
    platelets = _platelets(width, height, radius, len(rbcs), grid, rng)
    return (*wbcs, *rbcs, *platelets)


class _Grid:
    """Buckets of cells for neighbour queries on the torus."""

    def __init__(self, width: int, height: int, bucket: float) -> None:
        self.width, self.height = width, height
        self.cols = max(1, int(width // bucket))
        self.rows = max(1, int(height // bucket))
        self.buckets: dict[tuple[int, int], list[SmearCell]] = {}

    def _key(self, x: float, y: float) -> tuple[int, int]:
        return int(x / self.width * self.cols) % self.cols, int(
            y / self.height * self.rows
        ) % self.rows

    def add(self, cell: SmearCell) -> None:
        self.buckets.setdefault(self._key(cell.x, cell.y), []).append(cell)

    def near(self, x: float, y: float, reach: int = 2) -> Iterator[SmearCell]:
        gx, gy = self._key(x, y)
        for i in range(-reach, reach + 1):
            for j in range(-reach, reach + 1):
                yield from self.buckets.get(((gx + i) % self.cols, (gy + j) % self.rows), ())

    def distance(self, x: float, y: float, cell: SmearCell) -> float:
        dx, dy = abs(x - cell.x), abs(y - cell.y)
        return math.hypot(min(dx, self.width - dx), min(dy, self.height - dy))


def _white_cells(
    width: int, height: int, radius: float, grid: _Grid, rng: np.random.Generator
) -> list[SmearCell]:
    count = max(1, round(width * height / FIELD_AREA * WBC_PER_FIELD))
    kinds = list(WBC_KINDS)
    shares = np.array([WBC_KINDS[k][0] for k in kinds])
    placed: list[SmearCell] = []
    for _ in range(count * 30):
        if len(placed) == count:
            break
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if all(grid.distance(x, y, other) > radius * 6 for other in placed):
            kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
            low, high = WBC_KINDS[kind][1]
            placed.append(SmearCell(kind, x, y, radius * rng.uniform(low, high)))
    for cell in placed:
        grid.add(cell)
    return placed


def _red_cells(
    width: int, height: int, radius: float, grid: _Grid, rng: np.random.Generator
) -> list[SmearCell]:
    """Random sequential placement; one cell in twenty may overlap a neighbour."""
    density = _density_map(height // 8, width // 8, rng)
    target = RBC_COVERAGE * width * height / (math.pi * radius**2)
    placed: list[SmearCell] = []
    tries = 0
    while len(placed) < target and tries < target * 40:
        tries += 1
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        row = min(int(y / 8), density.shape[0] - 1)
        col = min(int(x / 8), density.shape[1] - 1)
        if rng.uniform() > density[row, col]:
            continue
        r = radius * float(np.clip(rng.normal(1.0, 0.06), 0.8, 1.2))
        overlap = 0.55 if rng.uniform() < 0.05 else 0.92
        reach = 3 if r > radius else 2
        if all(
            grid.distance(x, y, other) > overlap * (r + other.radius)
            for other in grid.near(x, y, reach)
        ):
            cell = SmearCell("rbc", x, y, r)
            placed.append(cell)
            grid.add(cell)
    return placed


def _density_map(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Chance (0.25-1) of keeping a red cell: thicker and thinner regions of the smear."""
    rows, cols = max(rows, 2), max(cols, 2)
    spectrum = np.fft.rfft2(rng.standard_normal((rows, cols)))
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    sigma = 50.0  # in map cells of 8 pixels: regions some hundreds of pixels across
    spectrum *= np.exp(-2 * math.pi**2 * sigma**2 * (fx**2 + fy**2))
    smooth = np.fft.irfft2(spectrum, s=(rows, cols))
    smooth /= smooth.std() or 1.0
    return np.clip(0.75 + 0.35 * smooth, 0.25, 1.0)


def _platelets(
    width: int,
    height: int,
    radius: float,
    red_cells: int,
    grid: _Grid,
    rng: np.random.Generator,
) -> list[SmearCell]:
    """Platelets, singly or in clumps of 2-5; nine in ten land in a gap between cells."""
    count = round(red_cells * PLATELETS_PER_RBC)
    placed: list[SmearCell] = []
    while len(placed) < count:
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        covered = any(
            grid.distance(x, y, other) < other.radius + radius * 0.2 for other in grid.near(x, y, 3)
        )
        if covered and rng.uniform() > 0.1:
            continue
        clump = int(rng.choice([*([1] * 20), 2, 3, 5]))
        for _ in range(clump):
            jitter = rng.normal(0, radius * 0.35, 2) if clump > 1 else (0.0, 0.0)
            size = radius * rng.uniform(0.32, 0.5)
            placed.append(
                SmearCell("platelet", (x + jitter[0]) % width, (y + jitter[1]) % height, size)
            )
    return placed
