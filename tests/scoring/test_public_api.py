"""The scorer's public surface: what other modules use is re-exported by ``gateway.scoring``
(with ``__all__``), and no module outside the package imports one of its underscore modules."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.scoring as scoring

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gateway" / "scoring"
SKIP = {".venv", ".git", "node_modules", "__pycache__"}


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved from ``path``)."""
    if node.level == 0:
        return node.module or ""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)[:-node.level]
    return ".".join(parts + ([node.module] if node.module else []))


def private_scoring_imports(source: str, path: Path) -> list[str]:
    """Every ``gateway.scoring._x`` that ``source`` (the text of ``path``) imports, however
    it is spelled."""
    tree = ast.parse(source, filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _private(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(path, node)
            if _private(module):
                found.append(module)
            else:
                found += [f"{module}.{a.name}" for a in node.names
                          if _private(f"{module}.{a.name}")]
    return found


def _private(name: str) -> bool:
    """``gateway.scoring._x...`` (a dunder such as ``__all__`` is not a module)."""
    parts = name.split(".")
    return parts[:2] == ["gateway", "scoring"] and len(parts) > 2 \
        and parts[2].startswith("_") and not parts[2].startswith("__")


def _sources() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py"))
            if not SKIP & set(p.relative_to(ROOT).parts) and PACKAGE not in p.parents]


def test_no_module_outside_the_scorer_imports_its_underscore_modules() -> None:
    offenders = {str(p.relative_to(ROOT)): bad for p in _sources()
                 if (bad := private_scoring_imports(p.read_text(encoding="utf-8"), p))}
    assert not offenders, offenders


def test_the_checker_sees_every_spelling() -> None:
    # The checker must be able to fail: absolute, from-import and relative spellings (the
    # relative one resolved as if the file sat in gateway/technician).
    source = ("import gateway.scoring._locate\n"
              "from gateway.scoring._frames import SRGB_TO_LINEAR\n"
              "from gateway.scoring import _window\n"
              "from ..scoring._decide import decide\n"
              "from gateway.scoring import locate, __all__\n")
    found = private_scoring_imports(source, ROOT / "gateway" / "technician" / "probe.py")
    assert found == ["gateway.scoring._locate", "gateway.scoring._frames",
                     "gateway.scoring._window", "gateway.scoring._decide"]


def test_what_outsiders_use_is_public() -> None:
    for name in ("SRGB_TO_LINEAR", "Located", "Pose", "decide", "locate", "score",
                 "score_windows", "make_flat_field", "load_frame", "exposure_advice"):
        assert name in scoring.__all__, name
        assert getattr(scoring, name) is not None
