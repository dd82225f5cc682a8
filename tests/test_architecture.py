"""The package arrows of ARCHITECTURE.md, checked on the source: kiosk and cloud share only
``protocol``; ``device_drivers`` imports nothing of ours; nothing imports ``nongan``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"protocol", "device_drivers", "gateway", "kiosk_ui", "cloud_bridge", "nongan"}

ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "device_drivers": set(),
    "gateway": {"protocol", "device_drivers"},
    "kiosk_ui": {"gateway", "protocol", "device_drivers"},
    "cloud_bridge": {"protocol"},
    "nongan": OURS,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_arrows(package):
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not violations, "\n".join(violations)


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import cloud_bridge.store\nfrom gateway import app\n")
    assert imported_packages(bad) == {"cloud_bridge", "gateway"}


def test_firmware_imports_no_python_package_of_ours():
    firmware = ROOT / "hardware" / "firmware"
    for path in sorted(firmware.rglob("*.py")) if firmware.exists() else []:
        assert not imported_packages(path), path


# ------------------------------------------------------------------ underscore modules

SOURCES = ("protocol", "device_drivers", "gateway", "kiosk_ui", "cloud_bridge", "nongan",
           "tests", "bench")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, absolute, with ``from x import y`` also as ``x.y``."""
    text = path.read_text(encoding="utf-8") if source is None else source
    module = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node, path.name == "__init__.py")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_module(name: str) -> bool:
    where = ROOT.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def private_module_violations(path: Path, source: str | None = None) -> list[str]:
    """Imports by ``path`` of an underscore module (``a.b._c``) from outside its package
    (``a.b``). (A private *name* imported from a module is another matter.)"""
    importer = _module_name(path)
    bad = []
    for target in sorted(imported_modules(path, source)):
        parts = target.split(".")
        if not _is_module(target):
            continue
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__"):
                owner = ".".join(parts[:i])
                if (parts[0] in OURS
                        and importer != owner and not importer.startswith(owner + ".")):
                    bad.append(f"{importer} imports {'.'.join(parts[:i + 1])}")
                break
    return bad


def _sources() -> list[Path]:
    return [p for package in SOURCES for p in sorted((ROOT / package).rglob("*.py"))
            if "firmware" not in p.parts]


def test_no_module_imports_another_packages_underscore_module():
    violations = [v for path in _sources() for v in private_module_violations(path)]
    assert violations == []


def test_the_underscore_rule_can_fail():
    probe = ROOT / "gateway" / "technician" / "probe.py"
    source = ("from device_drivers.strip_sim._optics import x\n"
              "from ..kit_labels import _gs1\n"
              "from gateway.scoring import _window\n"
              "from gateway.kit_labels._label import KitLabel\n")
    assert set(private_module_violations(probe, source)) == {
        "gateway.technician.probe imports device_drivers.strip_sim._optics",
        "gateway.technician.probe imports gateway.kit_labels._gs1",
        "gateway.technician.probe imports gateway.kit_labels._label",
        "gateway.technician.probe imports gateway.scoring._window",
    }
    inside = ROOT / "gateway" / "kit_labels" / "parse.py"
    assert private_module_violations(inside, "from ._gs1 import parse_gs1\n") == []


# ------------------------------------------------------------------ import circles

CIRCLE_PACKAGES = ("protocol", "device_drivers", "gateway", "kiosk_ui", "cloud_bridge",
                   "nongan")


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports when it runs (imports inside functions too;
    ``if TYPE_CHECKING:`` blocks and a module's own parent packages left out)."""
    paths = {_module_name(p): p for package in CIRCLE_PACKAGES
             for p in sorted((ROOT / package).rglob("*.py")) if "firmware" not in p.parts}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, node, path.name == "__init__.py")
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[module] = {t for t in targets if t in paths and t != module
                         and not module.startswith(t + ".")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_check_can_fail():
    graph = {"a.cli": {"a.cli_admin"}, "a.cli_admin": {"a.cli"}, "a.x": set()}
    assert circles(graph) == [["a.cli", "a.cli_admin"]]
