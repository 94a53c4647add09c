"""What the bundle's Linux binaries are made of: section names, the libraries each one
needs (DT_NEEDED) and the bytes of an exported symbol, read straight from the ELF file (no
binutils needed).

Used by hemoscope.spec (which libraries to leave out, which to strip of debug sections),
by check_bundle.py (every library a bundled binary needs is there) and by icu_data.py
(the ICU data package inside libicudata).
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["ElfInfo", "elf_info", "symbol_bytes"]

SHT_DYNAMIC = 6
SHT_DYNSYM = 11
DT_NULL, DT_NEEDED = 0, 1


class ElfInfo:
    """Section names and needed libraries of one ELF file (both empty for a non-ELF)."""

    def __init__(self, sections: set[str], needed: set[str]) -> None:
        self.sections = sections
        self.needed = needed

    @property
    def has_debug_info(self) -> bool:
        return ".debug_info" in self.sections


def elf_info(path: str | Path) -> ElfInfo:
    """Read a 64-bit little-endian ELF file; anything else gives an empty `ElfInfo`."""
    empty = ElfInfo(set(), set())
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return empty
            data = head + f.read()
    except OSError:
        return empty
    try:
        headers, shstrndx = _section_headers(data)
        sections = {_string(data, headers, shstrndx, h[0]) for h in headers}
        needed = set()
        for h in headers:
            if h[1] != SHT_DYNAMIC:
                continue
            for at in range(h[4], h[4] + h[5], 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed.add(_string(data, headers, h[6], value))
    except (struct.error, ValueError, IndexError):
        return empty
    return ElfInfo(sections, needed)


def symbol_bytes(path: str | Path, symbol: str) -> bytes:
    """The bytes of the exported data symbol ``symbol`` (its size from the symbol table)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    headers, _ = _section_headers(data)
    for h in headers:
        if h[1] != SHT_DYNSYM:
            continue
        for at in range(h[4], h[4] + h[5], 24):  # Elf64_Sym
            name_at, _, _, shndx, value, size = struct.unpack_from("<IBBHQQ", data, at)
            if shndx and _string(data, headers, h[6], name_at) == symbol:
                section = headers[shndx]
                start = section[4] + (value - section[3])  # file offset of the address
                return data[start : start + size]
    raise ValueError(f"{path}: no symbol {symbol}")


def _section_headers(data: bytes) -> tuple[list[tuple[int, ...]], int]:
    """(sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link) of each section,
    and the index of the section-name table."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if not shoff or not shnum or shstrndx >= shnum:
        raise ValueError("no section headers")
    headers = [struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize) for i in range(shnum)]
    return headers, shstrndx


def _string(data: bytes, headers: list[tuple[int, ...]], table: int, at: int) -> str:
    start = headers[table][4] + at
    return data[start : data.index(b"\0", start)].decode("ascii", "replace")
