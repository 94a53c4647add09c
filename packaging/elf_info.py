"""What the bundle's Linux binaries are made of: section names and the libraries each one
needs (DT_NEEDED), read straight from the ELF file (no binutils needed).

Used by hemoscope.spec (which libraries to leave out, which to strip of debug sections)
and by check_bundle.py (every library a bundled binary needs is there).
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["ElfInfo", "elf_info"]

SHT_DYNAMIC = 6
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
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        if not shoff or not shnum or shstrndx >= shnum:
            return empty
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link
        headers = [
            struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize) for i in range(shnum)
        ]

        def string(table: int, at: int) -> str:
            start = headers[table][4] + at
            return data[start : data.index(b"\0", start)].decode("ascii", "replace")

        sections = {string(shstrndx, h[0]) for h in headers}
        needed = set()
        for h in headers:
            if h[1] != SHT_DYNAMIC:
                continue
            for at in range(h[4], h[4] + h[5], 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed.add(string(h[6], value))
    except (struct.error, ValueError, IndexError):
        return empty
    return ElfInfo(sections, needed)
