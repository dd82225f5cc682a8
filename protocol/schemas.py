"""JSON Schemas generated from the message models, checked into ``protocol/schemas/``.

The checked-in files are what other implementations (a firmware team, a market's scanner app,
a third-party cloud) read; a test fails when they drift from the models. Regenerate with::

    python -m protocol.schemas            # writes protocol/schemas/*.json
    python -m protocol.schemas --check    # exits 1 if the files are stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .messages import SCHEMA_VERSION
from .registry import SCHEMA_MODELS

SCHEMA_DIR = Path(__file__).with_name("schemas")
__all__ = ["SCHEMA_DIR", "SCHEMA_MODELS", "main", "render_schema", "schema_filename",
           "stale_files", "write_all"]


def schema_filename(name: str) -> str:
    return f"{name}.v{SCHEMA_VERSION}.schema.json"


def render_schema(name: str) -> str:
    model = SCHEMA_MODELS[name]
    schema = model.model_json_schema(mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://nongan.example/schemas/{schema_filename(name)}",
        **schema,
    }
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing, different from the models, or orphaned."""
    expected = {schema_filename(name): render_schema(name) for name in SCHEMA_MODELS}
    stale = [
        filename
        for filename, text in expected.items()
        if not (directory / filename).is_file()
        or (directory / filename).read_text(encoding="utf-8") != text
    ]
    stale += [p.name for p in directory.glob("*.schema.json") if p.name not in expected]
    return sorted(stale)


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for orphan in directory.glob("*.schema.json"):
        orphan.unlink()
    written = []
    for name in SCHEMA_MODELS:
        path = directory / schema_filename(name)
        path.write_text(render_schema(name), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"stale: protocol/schemas/{name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
