"""Cell taxonomy: the classes a technician counts, their colours and keys.

The class ids are stable strings stored in cases and written in reports; do not rename
them. Display names, colours and keys may change (keys per workstation, see
:meth:`Taxonomy.with_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "DEFAULT_TAXONOMY",
    "NRBC_ID",
    "CellClass",
    "CellKind",
    "Taxonomy",
    "TaxonomyError",
]

#: Id of the class counted per 100 WBC and used for the NRBC correction.
NRBC_ID = "erythroblast"

_HEX_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class TaxonomyError(ValueError):
    """A taxonomy or keymap is invalid (duplicate id or key, unknown class, ...)."""


class CellKind(Enum):
    """What the detector finds: red cell, white (nucleated) cell or platelet."""

    RBC = "rbc"
    WBC = "wbc"
    PLATELET = "platelet"

    @classmethod
    def resolve(cls, name: str) -> CellKind | None:
        """Map a detector label (``"WBC"``, ``"RBC"``, ``"Platelets"``...) to a kind."""
        return _KIND_NAMES.get(_normalise(name).removesuffix("s"))


@dataclass(frozen=True, slots=True)
class CellClass:
    """One class of the differential.

    Attributes:
        id: stable lower-case identifier (``"neutrophil"``).
        display_name: name shown to the technician and printed on reports.
        colour: ``"#rrggbb"`` (lower-case) used for boxes and labels.
        default_key: the key that assigns this class, before any keymap override; ``""``
            for none (the class is chosen from the class menu until a laboratory gives
            it a key).
        kind: the cell kind this class belongs to.
        in_differential: whether the class enters the WBC denominator.
        auto: whether the classifier can produce this class (else manual only).
        counted_as: id of the class it is grouped with in the 5-part grouping
            (a band counts as a neutrophil), or ``None``.
        aliases: extra names accepted by :meth:`Taxonomy.resolve`.
        always_listed: whether the differential lists the class even when none was
            counted (else only when counted: the finer manual classes).
    """

    id: str
    display_name: str
    colour: str
    default_key: str
    kind: CellKind
    in_differential: bool
    auto: bool
    counted_as: str | None = None
    aliases: tuple[str, ...] = ()
    always_listed: bool = True

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise TaxonomyError(f"class id must be lower-case [a-z0-9_], got {self.id!r}")
        if not self.display_name.strip():
            raise TaxonomyError(f"class {self.id!r} needs a display name")
        if not _HEX_COLOUR.match(self.colour):
            raise TaxonomyError(
                f"class {self.id!r}: colour must be '#rrggbb' lower-case, got {self.colour!r}"
            )
        _check_key(self.default_key, self.id)
        if self.counted_as == self.id:
            raise TaxonomyError(f"class {self.id!r} cannot be counted as itself")


_KIND_NAMES = {
    "rbc": CellKind.RBC,
    "red cell": CellKind.RBC,
    "red blood cell": CellKind.RBC,
    "erythrocyte": CellKind.RBC,
    "wbc": CellKind.WBC,
    "white cell": CellKind.WBC,
    "white blood cell": CellKind.WBC,
    "leukocyte": CellKind.WBC,
    "leucocyte": CellKind.WBC,
    "platelet": CellKind.PLATELET,
    "plt": CellKind.PLATELET,
    "thrombocyte": CellKind.PLATELET,
}


def _check_key(key: str, class_id: str) -> None:
    if key == "":
        return  # no key
    if len(key) != 1 or key.isspace() or not key.isprintable():
        raise TaxonomyError(f"key for {class_id!r} must be one printable character, got {key!r}")


def _normalise(name: str) -> str:
    """Lower-case, separators to single spaces: ``"Band_Neutrophils"`` -> ``"band neutrophils"``."""
    return " ".join(re.sub(r"[_\-./]+", " ", name.strip().lower()).split())


class Taxonomy:
    """An ordered, immutable set of cell classes with a keymap.

    Keys are single characters; lookup by key is case-insensitive (``"N"`` finds the class
    bound to ``"n"``), and so is the uniqueness check. A class may have no key (``""``):
    it is then chosen from the class menu only.
    """

    __slots__ = ("_by_id", "_by_key", "_classes", "_keys", "_names")

    def __init__(self, classes: Sequence[CellClass], keys: Mapping[str, str] | None = None) -> None:
        self._classes: tuple[CellClass, ...] = tuple(classes)
        if not self._classes:
            raise TaxonomyError("a taxonomy needs at least one class")
        self._by_id: dict[str, CellClass] = {}
        for cls in self._classes:
            if cls.id in self._by_id:
                raise TaxonomyError(f"duplicate class id {cls.id!r}")
            self._by_id[cls.id] = cls
        for cls in self._classes:
            if cls.counted_as is not None and cls.counted_as not in self._by_id:
                raise TaxonomyError(f"class {cls.id!r} is counted as unknown {cls.counted_as!r}")
        overrides = dict(keys or {})
        unknown = set(overrides) - set(self._by_id)
        if unknown:
            raise TaxonomyError(f"keymap names unknown classes: {sorted(unknown)}")
        self._keys: dict[str, str] = {}
        self._by_key: dict[str, str] = {}
        for cls in self._classes:
            key = overrides.get(cls.id, cls.default_key)
            _check_key(key, cls.id)
            self._keys[cls.id] = key
            if not key:
                continue
            folded = key.casefold()
            if folded in self._by_key:
                raise TaxonomyError(
                    f"key {key!r} is bound to both {self._by_key[folded]!r} and {cls.id!r}"
                )
            self._by_key[folded] = cls.id
        self._names: dict[str, str] = {}
        for cls in self._classes:
            for name in (cls.id, cls.display_name, *cls.aliases):
                norm = _normalise(name)
                owner = self._names.setdefault(norm, cls.id)
                if owner != cls.id:
                    raise TaxonomyError(f"name {name!r} resolves to both {owner!r} and {cls.id!r}")

    # -- collection protocol ---------------------------------------------------------
    def __iter__(self) -> Iterator[CellClass]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._by_id

    def __getitem__(self, class_id: str) -> CellClass:
        try:
            return self._by_id[class_id]
        except KeyError:
            raise KeyError(f"unknown cell class {class_id!r}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Taxonomy):
            return NotImplemented
        return self._classes == other._classes and self._keys == other._keys

    def __hash__(self) -> int:
        return hash((self._classes, tuple(self._keys.items())))

    def __repr__(self) -> str:
        return f"Taxonomy({[c.id for c in self._classes]!r})"

    # -- lookups ---------------------------------------------------------------------
    @property
    def classes(self) -> tuple[CellClass, ...]:
        """The classes in display order."""
        return self._classes

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self._classes)

    def get(self, class_id: str) -> CellClass | None:
        """The class with this id, or ``None``."""
        return self._by_id.get(class_id)

    def key_for(self, class_id: str) -> str:
        """The key currently bound to ``class_id``; ``""`` when it has none."""
        return self._keys[self[class_id].id]

    def keyed(self) -> tuple[CellClass, ...]:
        """The classes that have a key, in display order."""
        return tuple(c for c in self._classes if self._keys[c.id])

    def by_key(self, key: str) -> CellClass | None:
        """The class bound to ``key`` (case-insensitive), or ``None``."""
        if not key:
            return None
        class_id = self._by_key.get(key.casefold())
        return None if class_id is None else self._by_id[class_id]

    @property
    def keymap(self) -> dict[str, str]:
        """Class id -> key (``""``: none), for every class (a copy; suitable for JSON
        settings)."""
        return dict(self._keys)

    def with_keys(self, keys: Mapping[str, str]) -> Taxonomy:
        """A new taxonomy with some keys changed (class id -> key).

        Classes not named keep their current key; ``""`` takes a class's key away. Raises
        `TaxonomyError` if a key is invalid or bound twice, or a class id is unknown.
        """
        merged = dict(self._keys)
        merged.update(keys)
        return Taxonomy(self._classes, merged)

    def with_default_keys(self) -> Taxonomy:
        """A new taxonomy with every key back to its class default."""
        return Taxonomy(self._classes)

    def differential_ids(self) -> tuple[str, ...]:
        """Ids of the classes that enter the WBC denominator, in order."""
        return tuple(c.id for c in self._classes if c.in_differential)

    def auto_ids(self) -> tuple[str, ...]:
        """Ids of the classes the classifier can produce, in order."""
        return tuple(c.id for c in self._classes if c.auto)

    def of_kind(self, kind: CellKind) -> tuple[CellClass, ...]:
        return tuple(c for c in self._classes if c.kind is kind)

    def group_of(self, class_id: str) -> str:
        """The class id this class is counted as (follows ``counted_as`` chains)."""
        seen: set[str] = set()
        current = self[class_id]
        while current.counted_as is not None:
            if current.id in seen:
                raise TaxonomyError(f"counted_as cycle at {current.id!r}")
            seen.add(current.id)
            current = self[current.counted_as]
        return current.id

    def members_of(self, class_id: str) -> tuple[str, ...]:
        """Ids of the other classes counted as ``class_id`` (directly or through a chain):
        ``members_of("ig")`` gives promyelocyte, myelocyte and metamyelocyte."""
        out = []
        for cls in self._classes:
            current = cls
            seen = {cls.id}
            while current.counted_as is not None and current.counted_as not in seen:
                if current.counted_as == class_id:
                    out.append(cls.id)
                    break
                current = self[current.counted_as]
                seen.add(current.id)
        return tuple(out)

    def resolve(self, name: str) -> str | None:
        """Map a folder or label name to a class id, case-insensitively; ``None`` if no match.

        Accepts ids, display names and aliases, with ``_``/``-``/``.`` as spaces and a
        plural ``s``: ``"NEUTROPHIL"``, ``"neutrophils"``, ``"IG"``, ``"NRBC"``,
        ``"immature granulocyte"``, ``"eos"``, ``"lymph"``.
        """
        norm = _normalise(name)
        if not norm:
            return None
        found = self._names.get(norm)
        if found is None and norm.endswith("s"):
            found = self._names.get(norm[:-1])
        if found is None and norm.endswith("es"):
            found = self._names.get(norm[:-2])
        return found

    def resolve_all(self, names: Iterable[str]) -> dict[str, str | None]:
        """:meth:`resolve` for each name."""
        return {name: self.resolve(name) for name in names}


def _c(
    id_: str,
    name: str,
    colour: str,
    key: str,
    *,
    kind: CellKind = CellKind.WBC,
    diff: bool = True,
    auto: bool = True,
    counted_as: str | None = None,
    aliases: tuple[str, ...] = (),
    listed: bool = True,
) -> CellClass:
    return CellClass(id_, name, colour, key, kind, diff, auto, counted_as, aliases, listed)


# Colours avoid the pinks and purples of a Romanowsky-stained smear: greens, blues,
# orange, red, yellow, teal, black, browns and greys, each far from the others in RGB.
DEFAULT_TAXONOMY = Taxonomy(
    [
        _c(
            "neutrophil",
            "Neutrophil (segmented)",
            "#00c853",
            "1",
            aliases=(
                "neutrophil",
                "segmented neutrophil",
                "seg",
                "segmented",
                "neut",
                "neu",
                "pmn",
                "polymorph",
                "sne",
                "ngs",
            ),
        ),
        _c("lymphocyte", "Lymphocyte", "#2962ff", "2", aliases=("lymph", "lym", "lympho", "lyt")),
        _c("monocyte", "Monocyte", "#ff6d00", "3", aliases=("mono", "mon")),
        _c("eosinophil", "Eosinophil", "#d50000", "4", aliases=("eos", "eo", "eosino")),
        _c("basophil", "Basophil", "#ffd600", "5", aliases=("baso", "bas")),
        _c(
            "ig",
            "Immature granulocyte",
            "#00897b",
            "6",
            aliases=(
                "igs",
                "immature granulocyte",
                "immature gran",
            ),
        ),
        _c(
            "band",
            "Band neutrophil",
            "#aeea00",
            "7",
            auto=False,
            counted_as="neutrophil",
            aliases=("band cell", "stab", "bne", "ngb", "band form"),
        ),
        _c(
            "blast",
            "Blast",
            "#000000",
            "8",
            auto=False,
            aliases=("blast cell", "myeloblast", "lymphoblast", "monoblast", "myo", "mob"),
        ),
        # Finer manual classes (as CellaVision offers), listed only when counted and
        # without a key until the laboratory gives them one (Settings > Keys). The IG
        # stages count as immature granulocytes: reported separately and in the IG total.
        _c(
            "promyelocyte",
            "Promyelocyte",
            "#004d40",
            "",
            auto=False,
            counted_as="ig",
            aliases=("pmy", "pmo"),
            listed=False,
        ),
        _c(
            "myelocyte",
            "Myelocyte",
            "#00bfa5",
            "",
            auto=False,
            counted_as="ig",
            aliases=("my", "myb"),
            listed=False,
        ),
        _c(
            "metamyelocyte",
            "Metamyelocyte",
            "#80cbc4",
            "",
            auto=False,
            counted_as="ig",
            aliases=("mmy", "mmz", "meta"),
            listed=False,
        ),
        _c(
            "reactive_lymphocyte",
            "Reactive / variant lymphocyte",
            "#82b1ff",
            "",
            auto=False,
            aliases=(
                "variant lymphocyte",
                "atypical lymphocyte",
                "atypical lymph",
                "reactive lymph",
                "variant lymph",
                "lya",
            ),
            listed=False,
        ),
        _c(
            "plasma_cell",
            "Plasma cell",
            "#1a237e",
            "",
            auto=False,
            aliases=("plasmacyte", "plasma"),
            listed=False,
        ),
        _c(
            NRBC_ID,
            "Erythroblast (NRBC)",
            "#6d4c41",
            "9",
            diff=False,
            aliases=(
                "nrbc",
                "nucleated red cell",
                "nucleated rbc",
                "nucleated red blood cell",
                "normoblast",
                "ebo",
            ),
        ),
        _c(
            "smudge",
            "Smudge cell",
            "#9e9e9e",
            "0",
            diff=False,
            auto=False,
            aliases=("smudge cell", "basket cell", "smear cell", "ksc"),
        ),
        _c(
            "artefact",
            "Artefact / unidentified",
            "#607d8b",
            "-",
            diff=False,
            auto=False,
            aliases=("artifact", "unidentified", "unknown", "unclassified"),
        ),
        _c(
            "platelet",
            "Platelet (clump / large)",
            "#00e5ff",
            "=",
            kind=CellKind.PLATELET,
            diff=False,
            aliases=("plt", "thrombocyte", "platelet clump", "large platelet", "giant platelet"),
        ),
    ]
)
