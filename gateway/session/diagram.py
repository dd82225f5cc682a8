"""The picture of the session's states in docs/kiosk.md, drawn from the declarations.

A Mermaid ``stateDiagram-v2`` whose every arrow is a declared action (its name) or event (its
name in parentheses), written between two markers in docs/kiosk.md, so the picture cannot
drift from the machine: a test fails when it does. Regenerate with::

    python -m gateway.session.diagram            # rewrites the block in docs/kiosk.md
    python -m gateway.session.diagram --check    # exits 1 if the block is stale
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from .actions import EVENTS, Action, Event
from .machine import ACTION_TABLE
from .steps import Step

DOC = Path(__file__).resolve().parents[2] / "docs" / "kiosk.md"
BEGIN = ("<!-- session states: generated from gateway/session by "
         "`python -m gateway.session.diagram`; do not edit -->")
END = "<!-- end of session states -->"
EVERYWHERE = frozenset({"cancel", "ended"})
"""Arrows from every step back to idle: said once in a note instead of drawn 18 times."""


def render(actions: Mapping[str, Action] = ACTION_TABLE, events: Iterable[Event] = EVENTS
           ) -> str:
    """The Mermaid block (with its fences) for these declarations."""
    labels: dict[tuple[Step, Step], list[str]] = defaultdict(list)
    named = [*((a.name, a.moves) for a in actions.values()),
             *((f"({e.name})", e.moves) for e in events)]
    for name, moves in named:
        if name.strip("()") in EVERYWHERE:
            continue
        for source, target in moves:
            if target is not source:
                labels[source, target].append(name)
    order = list(Step)
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> idle"]
    for source, target in sorted(labels, key=lambda e: (order.index(e[0]), order.index(e[1]))):
        lines.append(f"    {source.value} --> {target.value}: "
                     + ", ".join(labels[source, target]))
    lines += [
        "    note right of idle",
        "        from every step: cancel, or (ended) on a timeout",
        "        or when no cassette came; the person's data is wiped",
        "    end note",
        "```",
    ]
    return "\n".join(lines)


def with_diagram(text: str, diagram: str) -> str:
    """``text`` with the block between the markers replaced by ``diagram``."""
    try:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"{DOC.name} lacks the markers {BEGIN!r} … {END!r}") from None
    return f"{head}{BEGIN}\n{diagram}\n{END}{tail}"


def is_current(path: Path = DOC) -> bool:
    text = path.read_text(encoding="utf-8")
    return with_diagram(text, render()) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the picture is stale")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page holding the markers")
    args = parser.parse_args(argv)
    if args.check:
        if is_current(args.doc):
            return 0
        print(f"stale: the session's states in {args.doc} (python -m gateway.session.diagram)",
              file=sys.stderr)
        return 1
    text = args.doc.read_text(encoding="utf-8")
    args.doc.write_text(with_diagram(text, render()), encoding="utf-8")
    print(args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
