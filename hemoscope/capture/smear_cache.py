"""The synthetic smear kept on disk, so that the simulated microscope shows its picture
at once from the second start on (building the default 4096 x 3072 smear takes about two
seconds; reading it back, a few hundredths).

One ``.npy`` file per (width, height, seed, red-cell diameter) and `CACHE_VERSION`, in a
folder the caller gives (the station: its cache folder; `HEMOSCOPE_CACHE_DIR` overrides
it). A file that is missing, unreadable or of the wrong shape is built again; a folder
that cannot be written to only costs the time to build.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from hemoscope.capture.smear_synth import U8Image, synthesize_smear

__all__ = ["CACHE_VERSION", "ENV_CACHE_DIR", "cache_dir_from_env", "cached_smear"]

log = logging.getLogger(__name__)

CACHE_VERSION = 1
"""Raise when `synthesize_smear` draws differently: older files are then not used."""
ENV_CACHE_DIR = "HEMOSCOPE_CACHE_DIR"


def cache_dir_from_env(default: Path | None) -> Path | None:
    """`HEMOSCOPE_CACHE_DIR` when set, else `default`."""
    value = os.environ.get(ENV_CACHE_DIR, "")
    return Path(value) if value else default


def _path(folder: Path, width: int, height: int, seed: int, rbc_diameter: float) -> Path:
    name = f"smear-v{CACHE_VERSION}-{width}x{height}-s{seed}-d{rbc_diameter:g}.npy"
    return folder / name


def cached_smear(
    width: int, height: int, seed: int, rbc_diameter: float, folder: Path | None
) -> U8Image:
    """`synthesize_smear(...)`, read from `folder` when it was kept there (None: no disk)."""
    if folder is None:
        return synthesize_smear(width, height, seed, rbc_diameter)
    path = _path(folder, width, height, seed, rbc_diameter)
    try:
        loaded = np.load(path, allow_pickle=False)
        if loaded.dtype == np.uint8 and loaded.shape == (height, width, 3):
            kept: U8Image = np.asarray(loaded, np.uint8)
            kept.flags.writeable = False
            return kept
        log.info("cached smear %s has another shape: built again", path.name)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        log.info("cached smear %s unreadable (%s): built again", path.name, error)
    image = synthesize_smear(width, height, seed, rbc_diameter)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as out:
            np.save(out, image, allow_pickle=False)
        os.replace(out.name, path)
    except OSError as error:
        log.info("the smear could not be kept in %s: %s", folder, error)
    return image
