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
