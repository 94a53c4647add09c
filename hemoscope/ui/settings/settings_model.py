"""The station's settings as a value, with a lenient round trip to plain data. No Qt here.

`StationSettings` is what the settings dialog edits and `settings_store` persists with
QSettings: the keymap (class id -> key, only the keys changed from the defaults), the
count target, the reference ranges, the camera, whether the target alert beeps, and the
report's laboratory header (name, address, logo), paper size, thumbnail page and smear
estimate factors, and the laboratory profile and review sensitivity in use (Settings ▸
Models).
`from_dict` never fails: a damaged or hand-edited value is replaced by its default and
named in ``problems``, so a bad settings file cannot stop the station from starting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hemoscope.core import (
    DEFAULT_PLATELET_FACTOR,
    DEFAULT_REFERENCE,
    DEFAULT_TAXONOMY,
    ReferenceSet,
    Taxonomy,
    TaxonomyError,
)
from hemoscope.vision.unfamiliar import SENSITIVITIES, STANDARD

__all__ = ["MAX_TARGET", "PAGE_SIZES", "TARGET_CHOICES", "StationSettings"]

log = logging.getLogger(__name__)

TARGET_CHOICES = (100, 200)
MAX_TARGET = 10_000
PAGE_SIZES = ("A4", "Letter")


@dataclass(frozen=True)
class StationSettings:
    keymap: Mapping[str, str] = field(default_factory=dict)
    target: int = 100
    reference: ReferenceSet = DEFAULT_REFERENCE
    camera_index: int = 0
    camera_size: str = ""  # "WIDTHxHEIGHT" asked of the camera; "": its own default
    beep: bool = True
    inference_threads: int = 0  # 0: chosen from the number of CPU cores
    lab_name: str = ""
    lab_address: str = ""
    lab_logo: str = ""  # path of an image file; "" for none
    page_size: str = "A4"
    report_thumbnails: bool = True
    report_class_maps: bool = False  # the cell page shows each cell's class heat map too
    platelet_factor: float = DEFAULT_PLATELET_FACTOR  # platelets /µL per platelet per field
    wbc_factor: float = 0.0  # WBC /µL per WBC per field; 0: no WBC estimate
    lab_profile: str = ""  # laboratory profile file (`vision.lab_profile`); "": shipped model
    # How strictly cells unlike every known class are flagged (`vision.unfamiliar`).
    review_sensitivity: str = STANDARD
    um_per_px: float = 0.0  # camera scale, µm per image pixel (stage micrometer); 0: not known

    def __post_init__(self) -> None:
        if isinstance(self.target, bool) or not 1 <= int(self.target) <= MAX_TARGET:
            raise ValueError(f"the target must be 1 to {MAX_TARGET} cells, got {self.target}")
        if self.camera_index < 0:
            raise ValueError("the camera index cannot be negative")
        self.camera_resolution()  # raises ValueError for a bad size
        if self.page_size not in PAGE_SIZES:
            raise ValueError(f"the paper size must be one of {', '.join(PAGE_SIZES)}")
        if not self.platelet_factor > 0:
            raise ValueError("the platelet factor must be positive")
        if not self.wbc_factor >= 0:
            raise ValueError("the WBC factor cannot be negative")
        if self.review_sensitivity not in SENSITIVITIES:
            known = ", ".join(SENSITIVITIES)
            raise ValueError(f"the review sensitivity must be one of {known}")
        if not 0 <= self.um_per_px <= 100:
            raise ValueError("µm per pixel must be 0 (not calibrated) to 100")
        self.taxonomy()  # raises TaxonomyError for a bad keymap

    def camera_resolution(self) -> tuple[int, int] | None:
        """The frame size to ask of the camera, or None for the camera's default."""
        if not self.camera_size:
            return None
        try:
            width, height = (int(v) for v in self.camera_size.lower().split("x"))
        except ValueError:
            raise ValueError(f"a camera size is WIDTHxHEIGHT, got {self.camera_size!r}") from None
        if not (160 <= width <= 10_000 and 120 <= height <= 10_000):
            raise ValueError(f"camera size out of range: {self.camera_size}")
        return width, height

    def taxonomy(self, base: Taxonomy = DEFAULT_TAXONOMY) -> Taxonomy:
        """`base` with this keymap applied."""
        return base.with_keys(self.keymap) if self.keymap else base

    def with_taxonomy_keys(
        self, taxonomy: Taxonomy, base: Taxonomy = DEFAULT_TAXONOMY
    ) -> StationSettings:
        """These settings with the keymap of `taxonomy` (stored as changes from `base`)."""
        changed = {k: v for k, v in taxonomy.keymap.items() if base.key_for(k) != v}
        return replace(self, keymap=changed)

    # -- plain data ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "keymap": dict(self.keymap),
            "target": int(self.target),
            "reference": self.reference.to_dict(),
            "camera_index": int(self.camera_index),
            "camera_size": self.camera_size,
            "beep": bool(self.beep),
            "inference_threads": int(self.inference_threads),
            "lab_name": self.lab_name,
            "lab_address": self.lab_address,
            "lab_logo": self.lab_logo,
            "page_size": self.page_size,
            "report_thumbnails": bool(self.report_thumbnails),
            "report_class_maps": bool(self.report_class_maps),
            "platelet_factor": float(self.platelet_factor),
            "wbc_factor": float(self.wbc_factor),
            "lab_profile": self.lab_profile,
            "review_sensitivity": self.review_sensitivity,
            "um_per_px": float(self.um_per_px),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> tuple[StationSettings, list[str]]:
        """Settings from plain data (values may be JSON strings); and what was wrong."""
        problems: list[str] = []
        default = cls()
        values: dict[str, Any] = {}

        def take(name: str, convert: Any, *, text: bool = False) -> None:
            if name not in data:
                return
            try:
                value = data[name]
                values[name] = convert(value if text else _json(value))
            except (TypeError, ValueError, KeyError, TaxonomyError) as error:
                problems.append(f"{name}: {error}")

        take("keymap", _keymap)
        take("target", _int)
        take("reference", ReferenceSet.from_dict)
        take("camera_index", _int)
        take("beep", _bool)
        take("inference_threads", _int)
        for name in (
            "camera_size", "lab_name", "lab_address", "lab_logo", "page_size", "lab_profile",
            "review_sensitivity",
        ):  # fmt: skip
            take(name, str, text=True)
        take("report_thumbnails", _bool)
        take("report_class_maps", _bool)
        take("platelet_factor", _float)
        take("wbc_factor", _float)
        take("um_per_px", _float)
        settings = default
        for name, value in values.items():  # one at a time: a bad one alone is dropped
            try:
                settings = replace(settings, **{name: value})
            except (TypeError, ValueError, TaxonomyError) as error:
                problems.append(f"{name}: {error}")
        for problem in problems:
            log.warning("setting ignored (default used): %s", problem)
        return settings, problems


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] and value[:1] in "{[":
        return json.loads(value)
    return value


def _keymap(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("the keymap must map class ids to keys")
    keymap = {str(k): str(v) for k, v in value.items()}
    DEFAULT_TAXONOMY.with_keys(keymap)  # validates
    return keymap


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {value!r}")
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = float(value)
    if number != number:  # NaN
        raise ValueError("not a number: nan")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"not true or false: {value!r}")
    return bool(value)
