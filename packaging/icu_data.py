"""A smaller ICU data library for the Linux bundle (used by hemoscope.spec).

Qt's libicudata.so.73 (32 MB, the bundle's largest file) is one symbol, ``icudt73_dat``:
ICU's common data package, a table of contents and some 3,900 items. Qt calls ICU for
collation (QCollator, file dialogs' sorting), case mapping and Unicode normalisation
(mostly built into libicuuc, not data) and, on request, legacy text codecs and time-zone
display names. Qt formats dates and numbers from its own CLDR tables, breaks lines with its
own Unicode tables, and never uses ICU's formatting data: units, currencies, language,
region and time-zone names, transliteration, spell-out rules.

`filter_package` keeps every collation (sorting in any language), the break rules, the
normalisation and property data, the supplemental tables, the single-byte codecs
(windows-125x, ISO-8859-x ...) and the root and English locale data of every tree; it
leaves out the multi-byte legacy codecs (CJK, EBCDIC DBCS: 4.6 MB), the dictionaries for
Thai/CJK/Khmer/Lao/Burmese word breaks, and the other locales' formatting data. An item
left out is a resource ICU reports missing, as for a locale it does not know, and Qt falls
back (a codec name it cannot open is an invalid decoder; a time zone without a display
name gives its ID). `build_library` wraps the package in a shared library of the same
name and symbol, with the C compiler.

    python packaging/icu_data.py LIBICUDATA OUT.so   (prints what it kept)
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from elf_info import symbol_bytes

__all__ = ["build_library", "filter_package", "keep_item", "read_package"]

ALIGN = 16  # ICU's packages align every item (and the package itself) to 16 bytes
KEPT_TREES = {"coll", "brkitr"}  # kept whole but for the break dictionaries
LOCALES_KEPT = re.compile(r"(root|en|en_[A-Za-z0-9_]+|pool|res_index)\.res$")
SINGLE_BYTE_CODEC_MAX = 8192  # bytes: a single-byte codec's table is a few kB


def keep_item(name: str, size: int) -> bool:
    """Whether the package keeps item ``name`` ("icudt73l/coll/de.res" ...) of ``size``."""
    parts = name.split("/")[1:]  # without the package name
    if parts[-1].endswith(".dict"):
        return False
    if parts[-1].endswith(".cnv"):
        return size <= SINGLE_BYTE_CODEC_MAX
    if len(parts) == 1:  # top level: locale data, and the tables everything uses
        leaf = parts[0]
        if not leaf.endswith(".res"):
            return True  # properties, normalisation, codec aliases, ...
        return LOCALES_KEPT.fullmatch(leaf) is not None or not _is_locale(leaf)
    if parts[0] in KEPT_TREES:
        return True
    return LOCALES_KEPT.fullmatch(parts[-1]) is not None


def _is_locale(leaf: str) -> bool:
    """Locale resource names are language[_Script][_REGION]: short lower-case first part."""
    stem = leaf.removesuffix(".res")
    return re.fullmatch(r"[a-z]{2,3}(_[A-Za-z0-9]+)*", stem) is not None


def read_package(library: Path, symbol: str) -> bytes:
    """The common data package (``symbol``) inside an ICU data library."""
    return symbol_bytes(library, symbol)


def _items(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    header_size, magic1, magic2 = struct.unpack_from("<HBB", package, 0)
    if (magic1, magic2) != (0xDA, 0x27) or package[12:16] != b"CmnD":
        raise ValueError("not an ICU common data package")
    (count,) = struct.unpack_from("<I", package, header_size)
    toc = [struct.unpack_from("<II", package, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_at, data_at) in enumerate(toc):
        start = header_size + name_at
        name = package[start : package.index(b"\0", start)].decode("ascii")
        end = toc[i + 1][1] if i + 1 < count else len(package) - header_size
        items.append((name, package[header_size + data_at : header_size + end]))
    return package[:header_size], items


def filter_package(package: bytes, keep: Callable[[str, int], bool] = keep_item) -> bytes:
    """The package with only the items ``keep`` accepts, in the same (sorted) order, so
    that ICU's binary search of the table of contents still works."""
    header, items = _items(package)
    items = [(name, data) for name, data in items if keep(name, len(data))]
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    toc_size = 4 + 8 * len(items)
    at = len(header) + toc_size + len(names)
    padding = -at % ALIGN
    data_at = toc_size + len(names) + padding  # offsets count from the table of contents
    toc, name_at, body = [], toc_size, []
    for name, data in items:
        toc.append(struct.pack("<II", name_at, data_at))
        name_at += len(name) + 1
        data = data + b"\0" * (-len(data) % ALIGN)
        body.append(data)
        data_at += len(data)
    return b"".join([header, struct.pack("<I", len(items)), *toc, names, b"\0" * padding, *body])


def build_library(package: bytes, soname: str, symbol: str, out: Path) -> Path:
    """A shared library ``soname`` whose one symbol ``symbol`` is ``package``."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise FileNotFoundError("no C compiler (cc)")
    with tempfile.TemporaryDirectory() as tmp:
        blob, source = Path(tmp) / "package.dat", Path(tmp) / "package.S"
        blob.write_bytes(package)
        source.write_text(
            "\t.section .rodata\n"
            f"\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign {ALIGN}\n"
            f'{symbol}:\n\t.incbin "{blob}"\n\t.size {symbol}, .-{symbol}\n'
            '\t.section .note.GNU-stack,"",@progbits\n',
            encoding="ascii",
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [cc, "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(out), str(source)],
            check=True,
        )
    return out


def main(argv: list[str]) -> int:
    library, out = Path(argv[0]), Path(argv[1])
    symbol = "icudt" + re.search(r"\.so\.(\d+)", library.name).group(1) + "_dat"
    package = read_package(library, symbol)
    small = filter_package(package)
    build_library(small, library.name, symbol, out)
    _, before = _items(package)
    _, after = _items(small)
    print(
        f"{library.name}: {len(after)} of {len(before)} items, "
        f"{len(small) / 1e6:.1f} MB of {len(package) / 1e6:.1f} MB -> {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
