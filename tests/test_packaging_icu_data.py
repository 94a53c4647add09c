"""packaging/icu_data.py: the bundle's smaller ICU data library keeps what Qt uses."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("icu_data", ROOT / "packaging" / "icu_data.py")
assert _spec is not None and _spec.loader is not None
icu_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(icu_data)

QT_LIB = Path(__import__("PySide6").__file__).parent / "Qt" / "lib"
LIBRARIES = sorted(QT_LIB.glob("libicudata.so.*[0-9]"))
needs_icu = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not LIBRARIES, reason="no ICU data library of Qt's"
)


@pytest.fixture(scope="module")
def package() -> bytes:
    library = LIBRARIES[0]
    version = library.name.rsplit(".", 1)[-1]
    return icu_data.read_package(library, f"icudt{version}_dat")


def names(package: bytes) -> list[str]:
    return [name for name, _ in icu_data._items(package)[1]]


@needs_icu
def test_keeping_everything_keeps_every_item_byte_for_byte(package: bytes) -> None:
    header, items = icu_data._items(package)
    again_header, again = icu_data._items(icu_data.filter_package(package, lambda _n, _s: True))
    assert again_header == header
    assert [n for n, _ in again] == [n for n, _ in items]
    for (_, a), (_, b) in zip(items, again, strict=True):
        assert b.rstrip(b"\0") == a.rstrip(b"\0")


@needs_icu
def test_the_filter_keeps_what_qt_uses_and_stays_sorted(package: bytes) -> None:
    small = icu_data.filter_package(package)
    kept = [n.split("/", 1)[1] for n in names(small)]
    assert kept == sorted(kept)  # ICU binary-searches the table of contents
    for needed in ("coll/root.res", "coll/de.res", "coll/ja.res", "brkitr/root.res", "root.res"):
        assert needed in kept
    assert "cnvalias.icu" in kept
    assert any(n.startswith("ibm-5348") and n.endswith(".cnv") for n in kept)  # windows-1252
    for dropped in ("de.res", "zone/de.res", "curr/fr.res", "brkitr/cjdict.dict", "gb18030.cnv"):
        assert dropped not in kept
    assert len(small) < len(package) / 3


@needs_icu
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_qt_on_the_smaller_library_sorts_cases_and_decodes_as_before(
    package: bytes, tmp_path: Path
) -> None:
    name = LIBRARIES[0].name
    version = name.rsplit(".", 1)[-1]
    built = icu_data.build_library(
        icu_data.filter_package(package), name, f"icudt{version}_dat", tmp_path / name
    )
    probe = (
        "from PySide6.QtCore import QCollator, QLocale, QStringDecoder\n"
        "maps = open('/proc/self/maps').read()\n"
        "words = ['Äpfel', 'Zebra', 'apfel', 'Bär', 'baer', 'Ölung', 'ozean']\n"
        "for loc in ('de_DE', 'sv_SE'):\n"
        "    c = QCollator(QLocale(loc))\n"
        "    print(sorted(words, key=c.sortKey))\n"
        "print(QLocale('tr_TR').toUpper('istanbul'), QLocale('de_DE').toUpper('straße'))\n"
        "print(QStringDecoder('windows-1252').isValid(), QStringDecoder('UTF-16').isValid())\n"
        f"print({str(tmp_path)!r} in maps)\n"
    )

    def run(library_path: str | None) -> list[str]:
        env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
        if library_path:
            env["LD_LIBRARY_PATH"] = library_path
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    full, small = run(None), run(str(built.parent))
    assert small[-1] == "True" and full[-1] == "False"  # each ran on the library meant
    assert small[:-1] == full[:-1]
    assert small[1].startswith("['apfel', 'baer', 'Bär', 'ozean', 'Zebra', 'Äpfel'")  # Swedish
