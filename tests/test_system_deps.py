"""packaging/system_deps.py: the system packages `make run` and `make test` set up.

Nothing here installs anything: the apt-get runs are recorded by a fake runner.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


system_deps = _load("system_deps")
elf_info = _load("elf_info").elf_info
FROM_WORKSTATION = _load("workstation").FROM_WORKSTATION

QT = Path(__import__("PySide6").__file__).parent / "Qt"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux packages")


def libraries(group: str) -> set[str]:
    return {lib for _, p in system_deps.packages_for(group) for lib in p.libraries}


def commands(group: str) -> set[str]:
    return {cmd for _, p in system_deps.packages_for(group) for cmd in p.commands}


def host_needs(starts: list[Path]) -> dict[str, str]:
    """Every library `starts` need, following Qt's own libraries: {soname: needed by}."""
    inside = {p.name: p for p in QT.rglob("*.so*")}
    seen: set[Path] = set()
    todo = list(starts)
    needs: dict[str, str] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for lib in elf_info(path).needed:
            if lib in inside:
                todo.append(inside[lib])
            else:
                needs.setdefault(lib, path.name)
    return needs


# --- the lists ------------------------------------------------------------------------------


@linux_only
def test_names_every_library_the_qt_platforms_need() -> None:
    """libqxcb, libQt6XcbQpa and the other plugins a window uses, down to the last xcb
    utility library: each system library they need is looked for (or is the C runtime)."""
    plugins = QT / "plugins"
    starts = [
        plugins / "platforms" / "libqxcb.so",
        plugins / "platforms" / "libqwayland.so",
        plugins / "platforms" / "libqoffscreen.so",
        QT / "lib" / "libQt6XcbQpa.so.6",
        QT / "lib" / "libQt6Widgets.so.6",
        QT / "lib" / "libQt6PrintSupport.so.6",
        *plugins.glob("xcbglintegrations/*.so"),
        *plugins.glob("printsupport/*.so"),
        *plugins.glob("wayland-*-client/*.so"),
        *plugins.glob("wayland-shell-integration/*.so"),
    ]
    assert all(p.is_file() for p in starts[:6]), "PySide6's Qt layout changed"
    needs = host_needs(starts)
    assert "libxcb-icccm.so.4" in needs and "libxcb-keysyms.so.1" in needs
    known = libraries("run") | system_deps.BASE_LIBRARIES
    unnamed = {lib: who for lib, who in needs.items() if lib not in known}
    assert not unnamed, f"not in packaging/system_deps.py: {unnamed}"


def test_names_the_libraries_the_bundle_takes_from_the_workstation() -> None:
    assert libraries("run") >= FROM_WORKSTATION


def test_every_tool_a_test_or_the_build_looks_for_is_set_up() -> None:
    """A test that skips without a tool (shutil.which) or runs one, and the bundle build
    and check: each such tool is in the `test` set (or comes with the venv or libc)."""
    sources = [*ROOT.glob("tests/**/*.py"), *PACKAGING.glob("*.py"), PACKAGING / "hemoscope.spec"]
    found: dict[str, str] = {}
    pattern = re.compile(
        r"""shutil\.which\(\s*["']([\w.+-]+)["']|subprocess\.\w+\(\s*\[\s*["']([\w.+-]+)["']"""
    )
    for path in sources:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1) or match.group(2), str(path.relative_to(ROOT)))
    assert {"pdftoppm", "xvfb-run", "cc", "strip"} <= found.keys()
    venv_bin = Path(sys.executable).parent
    libc = {"ldconfig"}
    unset = {
        tool: where
        for tool, where in found.items()
        if tool not in commands("test") and tool not in libc and not (venv_bin / tool).exists()
    }
    assert not unset, f"tools the set-up does not provide: {unset}"


def test_run_needs_no_test_tools_and_test_needs_everything() -> None:
    assert not commands("run") & {"xvfb-run", "pdftoppm", "cc"}
    assert {"xvfb-run", "Xvfb", "xauth", "pdftoppm"} <= commands("test")
    run = {p.debian for _, p in system_deps.packages_for("run")}
    bundle = {p.debian for _, p in system_deps.packages_for("bundle")}
    test = {p.debian for _, p in system_deps.packages_for("test")}
    assert run < bundle < test
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libcups2"} <= run
    assert {"xvfb", "xauth", "poppler-utils"} <= test - bundle


def test_every_package_has_its_name_in_the_readme_for_each_distribution() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### System packages") :]
    for _, package in system_deps.packages_for("test"):
        for family in system_deps.FAMILIES:
            name = package.name(family)
            if family == "debian" and package.modules:
                name = "python3.11-venv"  # named for the Python the README asks for
            assert name is None or re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", section), (
                family,
                name,
            )


# --- what it does -------------------------------------------------------------------------


class Machine(system_deps.Probe):
    """A machine lacking `absent` (Debian package names) until apt-get installs them."""

    def __init__(self, absent: set[str]) -> None:
        super().__init__()
        self.absent = set(absent)
        self.commands: list[list[str]] = []

    def has(self, package: object) -> bool:
        return package.debian not in self.absent

    def run(self, command: list[str]) -> int:
        self.commands.append(command)
        if command[:2] == ["apt-get", "install"]:
            self.absent -= set(command)
        return 0


def run_main(
    machine: Machine, group: str, *, family: str | None, root: bool, lists: bool = True
) -> int:
    return int(
        system_deps.main(
            [group],
            probe=machine,
            family=family,
            root=root,
            run=machine.run,
            lists_present=lambda: lists,
        )
    )


@linux_only
def test_prints_the_one_command_and_stops_when_not_root(capsys: pytest.CaptureFixture) -> None:
    machine = Machine({"libxcb-icccm4", "libxcb-keysyms1", "poppler-utils"})
    assert run_main(machine, "test", family="debian", root=False) == 1
    assert machine.commands == []
    err = capsys.readouterr().err
    command = "sudo apt-get install -y --no-install-recommends"
    assert f"    {command} libxcb-icccm4 libxcb-keysyms1 poppler-utils\n" in err
    assert "libxcb-icccm.so.4" in err and "pdftoppm" in err and "`make test` again" in err


@linux_only
def test_other_distributions_get_their_own_command(capsys: pytest.CaptureFixture) -> None:
    absent = {"libxcb-icccm4", "libxcb-shape0", "libxcb-xkb1", "xvfb", "xauth"}
    assert run_main(Machine(absent), "test", family="fedora", root=False) == 1
    err = capsys.readouterr().err
    assert "sudo dnf install -y xcb-util-wm libxcb xorg-x11-server-Xvfb xorg-x11-xauth\n" in err
    assert run_main(Machine(absent), "test", family="arch", root=True) == 1
    assert "pacman -S --needed --noconfirm xcb-util-wm libxcb xorg-server-xvfb xorg-xauth\n" in (
        capsys.readouterr().err
    )
    assert run_main(Machine(absent), "test", family=None, root=True) == 1
    assert "README.md" in capsys.readouterr().err


@linux_only
def test_run_only_asks_for_the_runtime_set(capsys: pytest.CaptureFixture) -> None:
    machine = Machine({"xvfb", "poppler-utils", "gcc"})
    assert run_main(machine, "run", family="debian", root=False) == 0
    assert capsys.readouterr().err == ""


@linux_only
def test_installs_with_apt_get_as_root_without_update_when_lists_are_there() -> None:
    machine = Machine({"libxcb-icccm4", "xvfb"})
    assert run_main(machine, "test", family="debian", root=True) == 0
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
    assert machine.commands == [
        [*install, "-o", "DPkg::Lock::Timeout=120", "libxcb-icccm4", "xvfb"]
    ]
    assert machine.absent == set()


@linux_only
def test_updates_first_on_a_machine_without_package_lists() -> None:
    machine = Machine({"poppler-utils"})
    assert run_main(machine, "test", family="debian", root=True, lists=False) == 0
    assert [c[:2] for c in machine.commands] == [["apt-get", "update"], ["apt-get", "install"]]


@linux_only
def test_updates_and_tries_again_when_the_install_fails_with_old_lists() -> None:
    calls: list[list[str]] = []

    def run(command: list[str]) -> int:
        calls.append(command)
        return 100 if len(calls) == 1 else 0

    assert system_deps.apt_install(["xauth"], run=run, lists_present=lambda: True)
    assert [c[:2] for c in calls] == [
        ["apt-get", "install"],
        ["apt-get", "update"],
        ["apt-get", "install"],
    ]


@linux_only
def test_fails_when_apt_get_leaves_something_missing(capsys: pytest.CaptureFixture) -> None:
    machine = Machine({"xvfb"})
    machine.run = lambda command: machine.commands.append(command) or 100
    assert run_main(machine, "test", family="debian", root=True) == 1
    assert "still missing" in capsys.readouterr().err


def test_nothing_to_do_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_deps, "LINUX", False)
    machine = Machine({"libxcb-icccm4"})
    assert run_main(machine, "run", family="debian", root=False) == 0


def test_os_family() -> None:
    assert system_deps.os_family('ID=debian\nVERSION_ID="12"\n') == "debian"
    assert system_deps.os_family("ID=ubuntu\nID_LIKE=debian\n") == "debian"
    assert system_deps.os_family('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == "fedora"
    assert system_deps.os_family("ID=endeavouros\nID_LIKE=arch\n") == "arch"
    assert system_deps.os_family("ID=nixos\n") is None


# --- this machine and the Makefile ---------------------------------------------------------


@linux_only
def test_this_machine_has_what_make_test_sets_up() -> None:
    """`make test` ran the set-up before pytest: nothing a test could skip for is missing."""
    absent = system_deps.missing("test", system_deps.Probe(venv=ROOT / ".venv"))
    assert not absent, [p.debian for _, p in absent]
    assert shutil.which("pdftoppm") and shutil.which("xvfb-run")


def test_make_run_and_make_test_set_up_first_and_ci_runs_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule = {m.group(1): m.group(2).split() for m in re.finditer(r"^([\w-]+):(.*)$", makefile, re.M)}
    assert rule["run"][0] == "system-deps-run"
    assert rule["test"][0] == "system-deps-test"
    assert "system-deps-test" in rule["pytest"] and "system-deps-test" in rule["bundle-check"]
    assert "system-deps-bundle" in rule["bundle"]
    assert "packaging/system_deps.py" in makefile
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M)
