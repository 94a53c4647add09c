"""The system packages HemoScope needs beside its Python packages, checked (and on
Debian/Ubuntu as root installed) before `make run`, `make bundle` and `make test`.

    python3 packaging/system_deps.py run|bundle|test [--check] [--venv .venv]

Each package is looked for by what it provides: a shared library in ldconfig's cache, a
command on PATH, a module of this Python. With everything there it prints nothing and
takes well under a second, most of it Python's own start. What is missing:

- as root on Debian or Ubuntu, is installed with `apt-get install -y
  --no-install-recommends` (non-interactive; `apt-get update` first only when there are no
  package lists, or when the install failed with the lists there are);
- anywhere else (or with --check), is named with the one command that installs it, and
  the exit status is 1.

Groups: `run` is what the station needs to open its window (Qt's X11 and Wayland
platforms, OpenGL/EGL, fonts, D-Bus, CUPS) and to create .venv; `bundle` adds what
building the offline bundle uses; `test` adds the tools the tests and the bundle check
run. The libraries are those PySide6's Qt platform plugins and Qt libraries need from the
system (tests/test_system_deps.py checks this against the installed PySide6) and
workstation.FROM_WORKSTATION.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BASE_LIBRARIES",
    "FAMILIES",
    "GROUPS",
    "PURPOSES",
    "Package",
    "Probe",
    "Purpose",
    "apt_install",
    "install_command",
    "main",
    "missing",
    "os_family",
    "packages_for",
]

FAMILIES = ("debian", "fedora", "arch")
GROUPS = {"run": ("run",), "bundle": ("run", "bundle"), "test": ("run", "bundle", "test")}
TARGET = {"run": "make run", "bundle": "make bundle", "test": "make test"}


@dataclass(frozen=True)
class Package:
    """One Debian package and its names elsewhere (None: part of the base system there),
    with what shows that it is installed."""

    debian: str
    fedora: str | None
    arch: str | None
    libraries: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()

    def name(self, family: str) -> str | None:
        return {"debian": self.debian, "fedora": self.fedora, "arch": self.arch}[family]


@dataclass(frozen=True)
class Purpose:
    group: str
    what: str
    packages: tuple[Package, ...] = ()


def _lib(debian: str, fedora: str, arch: str, *libraries: str) -> Package:
    return Package(debian, fedora, arch, libraries=libraries)


def _venv_package() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}-venv"


PURPOSES: tuple[Purpose, ...] = (
    Purpose(
        "run",
        "Qt's X11 platform (xcb): the station's window on an X11 desktop and under Xvfb",
        (
            _lib("libxcb1", "libxcb", "libxcb", "libxcb.so.1"),
            _lib("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor", "libxcb-cursor.so.0"),
            _lib("libxcb-glx0", "libxcb", "libxcb", "libxcb-glx.so.0"),
            _lib("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm", "libxcb-icccm.so.4"),
            _lib("libxcb-image0", "xcb-util-image", "xcb-util-image", "libxcb-image.so.0"),
            _lib("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms", "libxcb-keysyms.so.1"),
            _lib("libxcb-randr0", "libxcb", "libxcb", "libxcb-randr.so.0"),
            _lib("libxcb-render0", "libxcb", "libxcb", "libxcb-render.so.0"),
            _lib(
                "libxcb-render-util0",
                "xcb-util-renderutil",
                "xcb-util-renderutil",
                "libxcb-render-util.so.0",
            ),
            _lib("libxcb-shape0", "libxcb", "libxcb", "libxcb-shape.so.0"),
            _lib("libxcb-shm0", "libxcb", "libxcb", "libxcb-shm.so.0"),
            _lib("libxcb-sync1", "libxcb", "libxcb", "libxcb-sync.so.1"),
            _lib("libxcb-util1", "xcb-util", "xcb-util", "libxcb-util.so.1"),
            _lib("libxcb-xfixes0", "libxcb", "libxcb", "libxcb-xfixes.so.0"),
            _lib("libxcb-xkb1", "libxcb", "libxcb", "libxcb-xkb.so.1"),
            _lib("libxkbcommon0", "libxkbcommon", "libxkbcommon", "libxkbcommon.so.0"),
            _lib(
                "libxkbcommon-x11-0",
                "libxkbcommon-x11",
                "libxkbcommon-x11",
                "libxkbcommon-x11.so.0",
            ),
            _lib("libx11-6", "libX11", "libx11", "libX11.so.6"),
            _lib("libx11-xcb1", "libX11-xcb", "libx11", "libX11-xcb.so.1"),
        ),
    ),
    Purpose(
        "run",
        "Qt's Wayland platform: the station's window on a Wayland desktop",
        (
            _lib("libwayland-client0", "libwayland-client", "wayland", "libwayland-client.so.0"),
            _lib("libwayland-cursor0", "libwayland-cursor", "wayland", "libwayland-cursor.so.0"),
            _lib("libwayland-egl1", "libwayland-egl", "wayland", "libwayland-egl.so.1"),
        ),
    ),
    Purpose(
        "run",
        "OpenGL and EGL (the workstation's graphics driver)",
        (
            _lib("libgl1", "mesa-libGL", "libglvnd", "libGL.so.1"),
            _lib("libegl1", "mesa-libEGL", "libglvnd", "libEGL.so.1"),
        ),
    ),
    Purpose(
        "run",
        "fonts: fontconfig (and with it a font) and FreeType",
        (
            _lib("libfontconfig1", "fontconfig", "fontconfig", "libfontconfig.so.1"),
            _lib("libfreetype6", "freetype", "freetype2", "libfreetype.so.6"),
        ),
    ),
    Purpose(
        "run",
        "the desktop session: D-Bus and GLib (Qt's event loop)",
        (
            _lib("libdbus-1-3", "dbus-libs", "dbus", "libdbus-1.so.3"),
            _lib("libglib2.0-0", "glib2", "glib2", "libglib-2.0.so.0", "libgthread-2.0.so.0"),
        ),
    ),
    Purpose(
        "run",
        "printing: CUPS (the station's printers; reports are saved as PDF without it)",
        (_lib("libcups2", "cups-libs", "libcups", "libcups.so.2"),),
    ),
    Purpose(
        "run",
        "Python's venv module with ensurepip, which makes .venv",
        (Package(_venv_package(), None, None, modules=("ensurepip",)),),
    ),
    Purpose(
        "bundle",
        "building the bundle: its smaller ICU data library (packaging/icu_data.py, with "
        "the C compiler), debug sections stripped, the commit in its version",
        (
            Package("gcc", "gcc", "gcc", commands=("cc", "gcc")),
            Package("binutils", "binutils", "binutils", commands=("strip",)),
            Package("git", "git", "git", commands=("git",)),
        ),
    ),
    Purpose(
        "test",
        "the tests: an X server for the bundle check's xcb smoke test (Xvfb, xvfb-run and "
        "its xauth), the PDF report rendered to an image (pdftoppm)",
        (
            Package(
                "xvfb",
                "xorg-x11-server-Xvfb",
                "xorg-server-xvfb",
                commands=("Xvfb", "xvfb-run"),
            ),
            Package("xauth", "xorg-x11-xauth", "xorg-xauth", commands=("xauth",)),
            Package("poppler-utils", "poppler-utils", "poppler", commands=("pdftoppm",)),
        ),
    ),
)

BASE_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libresolv.so.2",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "libz.so.1",
        "libzstd.so.1",
    }
)
"""Libraries every Linux that runs this Python and its package manager already has (the C
and C++ runtimes, zlib, zstd): never looked for."""

LINUX = sys.platform.startswith("linux")

# ldconfig's tag for this machine's libraries (a 32-bit library of the same name in a
# multiarch system does not count).
_ARCH_TAGS = {"x86_64": "x86-64", "aarch64": "AArch64"}


def packages_for(group: str) -> list[tuple[Purpose, Package]]:
    """Every package `group` needs, with its purpose."""
    return [(p, package) for p in PURPOSES if p.group in GROUPS[group] for package in p.packages]


# --- what is there ------------------------------------------------------------------------


def host_libraries() -> set[str]:
    """The sonames in ldconfig's cache for this machine's architecture (or, without
    ldconfig, the files in the usual library folders)."""
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.access(p, os.X_OK)), None
    )
    if ldconfig is not None:
        try:
            out = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        tag = _ARCH_TAGS.get(platform.machine())
        found = {
            line.split()[0]
            for line in out.splitlines()[1:]
            if line.strip() and (tag is None or tag in line.split("=>")[0])
        }
        if found:
            return found
    folders = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"]
    folders += glob.glob("/lib/*-linux-gnu") + glob.glob("/usr/lib/*-linux-gnu")
    return {p.name for folder in folders for p in Path(folder).glob("*.so*")}


@dataclass
class Probe:
    """What is installed, asked lazily (ldconfig runs at most once)."""

    venv: Path | None = None
    _libraries: set[str] | None = None

    def libraries(self) -> set[str]:
        if self._libraries is None:
            self._libraries = host_libraries()
        return self._libraries

    def forget(self) -> None:
        """Look again next time (after an install)."""
        self._libraries = None

    def has(self, package: Package) -> bool:
        made = self.venv is not None and os.path.exists(self.venv / "bin" / "python")
        if package.modules and made:
            return True  # the venv module is needed to make .venv, which is there
        return (
            all(lib in self.libraries() for lib in package.libraries)
            and all(shutil.which(cmd) for cmd in package.commands)
            and all(importlib.util.find_spec(m) is not None for m in package.modules)
        )


def missing(group: str, probe: Probe | None = None) -> list[tuple[Purpose, Package]]:
    """The packages of `group` that are not installed, in the order of PURPOSES."""
    probe = probe or Probe()
    return [(p, package) for p, package in packages_for(group) if not probe.has(package)]


# --- installing ---------------------------------------------------------------------------


def os_family(os_release: str | None = None) -> str | None:
    """'debian', 'fedora' or 'arch' from /etc/os-release (ID and ID_LIKE), else None."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8")
        except OSError:
            return None
    fields = {}
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip('"').lower()
    ids = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    for family, names in (
        ("debian", ("debian", "ubuntu")),
        ("fedora", ("fedora", "rhel", "centos")),
        ("arch", ("arch", "archlinux")),
    ):
        if any(i in names for i in ids):
            return family
    return None


def _names(packages: Iterable[Package], family: str) -> list[str]:
    names = [package.name(family) for package in packages]
    return list(dict.fromkeys(n for n in names if n))


def install_command(
    packages: Sequence[Package], family: str, *, root: bool, update: bool = False
) -> str:
    """The one shell command that installs `packages` on `family`."""
    sudo = "" if root else "sudo "
    names = " ".join(_names(packages, family))
    if family == "debian":
        install = f"{sudo}apt-get install -y --no-install-recommends {names}"
        return f"{sudo}apt-get update && {install}" if update else install
    if family == "fedora":
        return f"{sudo}dnf install -y {names}"
    if family == "arch":
        return f"{sudo}pacman -S --needed --noconfirm {names}"
    raise ValueError(family)


def apt_lists_present() -> bool:
    return bool(glob.glob("/var/lib/apt/lists/*_Packages*"))


Runner = Callable[[list[str]], int]


def _run(command: list[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False).returncode


def apt_install(
    packages: Sequence[str],
    *,
    run: Runner = _run,
    lists_present: Callable[[], bool] = apt_lists_present,
) -> bool:
    """apt-get install `packages`; `apt-get update` first only without package lists, or
    once after an install that failed with the lists there were."""
    update = ["apt-get", "update", "-q"]
    install = [
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=120",
        *packages,
    ]
    updated = False
    if not lists_present():
        if run(update) != 0:
            return False
        updated = True
    if run(install) == 0:
        return True
    if updated or run(update) != 0:
        return False
    return run(install) == 0


# --- the command ----------------------------------------------------------------------------


def _describe(items: Sequence[tuple[Purpose, Package]], family: str | None) -> list[str]:
    lines = []
    for purpose in dict.fromkeys(p for p, _ in items):
        packages = [package for p, package in items if p is purpose]
        provides = [x for package in packages for x in (*package.libraries, *package.commands)]
        provides += [f"Python module {m}" for package in packages for m in package.modules]
        lines.append(f"  for {purpose.what}:")
        names = _names(packages, family or "debian")
        if names:
            lines.append(f"    {' '.join(names)}  ({', '.join(provides)})")
        else:
            lines.append(f"    (part of {family}'s Python: {', '.join(provides)})")
    return lines


def main(
    argv: Sequence[str] | None = None,
    *,
    probe: Probe | None = None,
    family: str | None = "detect",
    root: bool | None = None,
    run: Runner = _run,
    lists_present: Callable[[], bool] = apt_lists_present,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("group", choices=sorted(GROUPS))
    parser.add_argument("--check", action="store_true", help="only report; never install")
    parser.add_argument(
        "--venv", type=Path, help="the project's venv (made already: no venv module needed)"
    )
    args = parser.parse_args(argv)
    if not LINUX:
        return 0  # Qt's wheels for Windows and macOS carry what they need
    probe = probe or Probe(venv=args.venv)
    absent = missing(args.group, probe)
    if not absent:
        return 0
    if family == "detect":
        family = os_family()
    if root is None:
        root = os.geteuid() == 0
    target = TARGET[args.group]
    packages = [package for _, package in absent]
    err = sys.stderr
    if family == "debian" and root and not args.check:
        names = _names(packages, family)
        print(f"{target} needs these system packages, not installed here:", file=err)
        print("\n".join(_describe(absent, family)), file=err)
        print(f"installing {len(names)} package(s) with apt-get", file=err, flush=True)
        if not apt_install(names, run=run, lists_present=lists_present):
            still = absent
        else:
            probe.forget()
            still = missing(args.group, probe)
        if not still:
            return 0
        print(f"\n{target}: apt-get did not install everything; still missing:", file=err)
        print("\n".join(_describe(still, family)), file=err)
        return 1
    print(f"{target} needs these system packages, not installed here:", file=err)
    print("\n".join(_describe(absent, family)), file=err)
    if family is not None and _names(packages, family):
        update = family == "debian" and not lists_present()
        command = install_command(packages, family, root=root, update=update)
        print(f"\nInstall them with:\n\n    {command}\n\nthen run `{target}` again.", file=err)
    elif family is None:
        print(
            "\nThis Linux is none of Debian/Ubuntu, Fedora/RHEL or Arch: install the "
            "packages that provide the libraries and commands above (README.md, "
            "'System packages', names them for those three), then run "
            f"`{target}` again (or skip this check: `{target} SYSTEM_DEPS=0`).",
            file=err,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
