"""Settings ▸ Models without Qt: the profile in use, the verified cells of the case
database, adapting to this microscope and keeping an accepted profile.

`ModelsContext` is what the station gives the Models page: the model cards in use, the
case database, where accepted profiles are kept and how to load the shipped models for
adapting (a pipeline of its own, never the one analysing the live picture).
`run_adaptation` is the work the adapt dialog runs on its thread: the verified cells of
the signed-off cases (`hemoscope.store.verified`) through `vision.lab_adapt`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hemoscope.core import DEFAULT_TAXONOMY
from hemoscope.vision.lab_adapt import Adaptation, AdaptError, adapt_cells
from hemoscope.vision.lab_neighbours import MAX_BANK
from hemoscope.vision.lab_profile import PROFILE_ROLE, LabProfile, ProfileError

__all__ = [
    "AdaptOutcome",
    "ModelsContext",
    "VerifiedCounts",
    "count_verified",
    "describe_models",
    "describe_profile",
    "keep_profile",
    "models_context",
    "profile_summary",
    "run_adaptation",
    "save_profile",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class ModelsContext:
    cards: Callable[[], Mapping[str, Mapping[str, Any]]]  # role -> card of the models in use
    db_path: Path | None  # the case database; None when cases are not saved
    profiles_dir: Path
    load_pipeline: Callable[[], Any]  # the shipped models, without a profile


def models_context(
    cards: Callable[[], Mapping[str, Mapping[str, Any]]], db: Path | None, threads: int | None
) -> ModelsContext:
    """The station's context: profiles are kept in ``lab-profiles`` beside the case
    database; adapting loads the shipped models afresh (``threads`` as the station's)."""

    def load() -> Any:
        from hemoscope.vision.pipeline import Pipeline

        return Pipeline.load(threads=threads)

    folder = (Path(db).parent if db is not None else Path.home()) / "lab-profiles"
    return ModelsContext(cards, None if db is None else Path(db), folder, load)


@dataclass(frozen=True)
class VerifiedCounts:
    """Verified cells of signed-off cases per class (taxonomy ids), and the cases."""

    per_class: dict[str, int]
    cases: int

    @property
    def total(self) -> int:
        return sum(self.per_class.values())


def count_verified(db_path: Path) -> VerifiedCounts:
    """Count without reading images (quick enough to show when the dialog opens)."""
    from hemoscope.store import CaseStore
    from hemoscope.store.verified import verified_fields

    counts: Counter[str] = Counter()
    cases: set[str] = set()
    with CaseStore.open(db_path) as store:
        for v in verified_fields(store, images=False):
            cases.add(v.case_id)
            counts.update(c.final_class or "?" for c in v.cells)
    return VerifiedCounts(dict(counts.most_common()), len(cases))


@dataclass
class AdaptOutcome:
    adaptation: Adaptation | None = None
    cells: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str = ""


def run_adaptation(
    db_path: Path, load_pipeline: Callable[[], Any], progress: Progress
) -> AdaptOutcome:
    """Load the shipped models, take the verified cells, fit and measure a profile."""
    from hemoscope.store import CaseStore, StoreError
    from hemoscope.store.verified import verified_fields
    from hemoscope.vision.image_input import to_rgb
    from hemoscope.vision.lab_cells import from_fields

    out = AdaptOutcome()
    try:
        progress("Loading the models…", 0, 0)
        pipeline = load_pipeline()
        clf = pipeline.classifier
        progress("Reading the verified cells…", 0, 0)
        with CaseStore.open(db_path) as store:
            items = [
                (
                    v.name,
                    v.case_id,
                    v.cells,
                    v.field.cells,
                    None if v.image is None else to_rgb(v.image),
                )
                for v in verified_fields(store)
            ]
        cells = from_fields(items, clf, pipeline.taxonomy)
        out.cells, out.skipped = len(cells), list(cells.skipped)
        out.adaptation = adapt_cells(
            clf,
            cells,
            models=pipeline.model_cards(),
            name="this microscope",
            source=f"db: {db_path}",
            embed_progress=lambda i, n: progress("Measuring the cells…", i, n),
            fit_progress=lambda i, n: progress("Fitting and cross-validating…", i, n),
        )
    except (AdaptError, StoreError, ProfileError, OSError) as exc:
        out.error = str(exc)
    except Exception as exc:  # a model failure must reach the dialog, not kill the thread
        log.exception("adapting failed")
        out.error = f"adapting failed: {exc}"
    return out


def keep_profile(adaptation: Adaptation, folder: Path) -> Path:
    """Save an accepted profile in ``folder``; its path (named by date and sha256)."""
    return save_profile(adaptation.profile, folder)


def save_profile(profile: LabProfile, folder: Path) -> Path:
    """Save an accepted profile (a head refit or a colour calibration) in ``folder``; its
    path (named by date and sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = profile.save(folder / "lab-profile.new.json")
    path = folder / f"lab-profile-{tmp.date}-{tmp.sha256[:12]}.json"
    (folder / "lab-profile.new.json").replace(path)
    return path


def describe_models(cards: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(role, "name version, sha256 ...")`` of the shipped models in use."""
    rows = []
    for role, card in cards.items():
        if role == PROFILE_ROLE or not card:
            continue
        sha = str(card.get("sha256", ""))[:12]
        rows.append((role, f"{card.get('name', role)} {card.get('version', '')}, sha256 {sha}"))
    return rows


def describe_profile(path: str) -> tuple[LabProfile | None, str]:
    """The profile at ``path`` and a description of it, or None and why it cannot be used."""
    if not path:
        return None, "None: the shipped model as it is."
    try:
        profile = LabProfile.load(path)
    except ProfileError as exc:
        return None, f"Cannot be used: {exc}"
    extends = "; ".join(
        f"{role} {m.get('name', '')} {m.get('version', '')} ({m.get('sha256', '')[:12]})"
        for role, m in profile.models.items()
    )
    return profile, f"{profile_summary(profile)}\nExtends: {extends}."


def profile_summary(profile: LabProfile) -> str:
    """What the profile is: its kind, cells, date and sha256, and what it found."""
    head = f"'{profile.name}': {profile.kind} from {profile.cells}"
    made = f"made {profile.date}; sha256 {profile.sha256[:12]}"
    gains = ""
    if profile.colour is not None:
        g = " ".join(f"{v:.2f}" for v in profile.colour.gains())
        gains = f"\nMaps this microscope's colours to the training crops' (gains R G B {g})."
    if profile.neighbours is not None:
        nb = profile.neighbours
        gains += f"\n{nb.rule()}."
        if nb.cells < MAX_BANK:
            gains += (
                f" Calibrating again as the cases grow keeps more of them (up to {MAX_BANK:,}),"
                " and fewer cells of the less common classes are then flagged."
            )
    if profile.usual_unfamiliar is not None:
        gains += f"\n{profile.usual_note()}"
    if not profile.cells_per_class:  # a calibration from unlabelled cells
        return f"{head} white cells of this microscope (no labels), {made}.{gains}"
    cells = ", ".join(f"{class_name(c)} {n}" for c, n in profile.cells_per_class.items())
    v = profile.validation
    acc = ""
    if v.get("shipped") and v.get("profile"):
        acc = (
            f"\nOn its cells ({v.get('method', '')}): accuracy "
            f"{v['shipped']['accuracy']:.1%} shipped → {v['profile']['accuracy']:.1%} with it."
        )
    note = profile.review_note()
    review = f"\n{note}" if note else ""
    return f"{head} verified cells ({cells}), {made}.{acc}{review}{gains}"


def class_name(class_id: str) -> str:
    """The taxonomy's display name of a class id (the id itself when unknown)."""
    cls = DEFAULT_TAXONOMY.get(class_id)
    return cls.display_name if cls is not None else class_id
