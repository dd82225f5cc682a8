"""A stand-in for ``systemctl`` in update tests (``update.systemctl`` points at it).

    python fake_systemctl.py DIR start|stop|restart|show [--no-block] [--property=...] UNIT

It keeps each unit's ActiveState and NRestarts in DIR/state.json and appends every call to
DIR/calls.jsonl; it starts nothing (the test runs what a started unit would run, see
``releases.FakeSystemd.run_unit``). DIR/state.json may also hold ``"refuse": {unit:
message}``: systemctl fails for that unit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = [a for a in argv[1:] if a.startswith("--")]
    verb, unit = args[0], args[-1]
    state_file = folder / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    with (folder / "calls.jsonl").open("a") as log:
        log.write(json.dumps({"verb": verb, "unit": unit, "flags": flags}) + "\n")
    refused = state.get("refuse", {}).get(unit)
    if refused:
        print(f"Failed to {verb} {unit}: {refused}", file=sys.stderr)
        return 1
    units = state.setdefault("units", {})
    current = units.setdefault(unit, {"ActiveState": "inactive", "NRestarts": 0})
    if verb in ("start", "restart"):
        current["ActiveState"] = "active"
    elif verb == "stop":
        current["ActiveState"] = "inactive"
    elif verb == "show":
        print(f"ActiveState={current['ActiveState']}\nNRestarts={current['NRestarts']}")
    else:
        print(f"unknown verb {verb}", file=sys.stderr)
        return 1
    state_file.write_text(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
