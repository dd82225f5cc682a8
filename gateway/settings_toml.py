"""Writing validated kiosk settings back to a TOML file (``nongan demo`` writes its kiosk's
settings so ``nongan doctor --config …`` and friends can read them).

Only what the settings hold: tables of strings, numbers, booleans and lists of numbers. Values
that are None are left out (absent means the default, which is None for those fields).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .settings import GatewaySettings

HEADER = "# Written by nongan: the settings of a kiosk (see gateway/settings.py).\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(name: str, data: dict[str, Any], out: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if scalars or not tables:
        out.append(f"\n[{name}]")
        out.extend(f"{key} = {_value(value)}" for key, value in scalars.items())
    for key, sub in tables.items():
        _table(f"{name}.{key}", sub, out)


def settings_to_toml(settings: GatewaySettings) -> str:
    """The settings as TOML text that ``load_settings`` reads back to equal settings."""
    data = settings.model_dump(mode="json")
    out = [HEADER.rstrip("\n")]
    for name, section in data.items():
        if section is None:
            continue
        _table(name, section, out)
    return "\n".join(out) + "\n"


def write_settings(settings: GatewaySettings, path: Path) -> Path:
    """Write the settings to ``path`` atomically (readable only by its owner: it may hold the
    broker password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(settings_to_toml(settings), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
