"""Atomic file writes for exports: a temporary file in the target folder, then rename.

A reader (or a crash) sees either the old file or the complete new one, never a part.
Any failure (disk full, read-only folder, missing folder, permission) raises
`ExportError` with the reason and the target, and leaves no temporary file behind.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path

__all__ = ["ExportError", "atomic_write_bytes", "atomic_write_text"]

logger = logging.getLogger(__name__)

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the target is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "part of the path is not a folder",
    errno.EISDIR: "the target is a folder",
}


class ExportError(OSError):
    """An export could not be written. ``reason`` says why in words; ``path`` is the
    target. The case and any earlier file at ``path`` are unchanged."""

    def __init__(self, path: Path, reason: str, cause: OSError | None = None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            cause.errno if cause else None,
            f"Could not write {path}: {reason}. Nothing was changed; free some "
            "space or choose another folder and export again.",
        )

    def __str__(self) -> str:
        return str(self.strerror)


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _default_mode(target: Path) -> int:
    """The mode ``open()`` would give: an existing file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None
) -> Path:
    """Write ``data`` to ``path`` atomically (fsync'd); returns the path.

    ``mode`` defaults to what a plain ``open()`` would give (an existing file keeps its
    permissions).
    """
    target = Path(path)
    if target.is_dir():
        raise ExportError(target, "the target is a folder")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode(target) if mode is None else mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        logger.warning("export to %s failed: %s", target, exc)
        raise ExportError(target, _reason(exc), exc) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return target


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded (UTF-8 by default)."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)
