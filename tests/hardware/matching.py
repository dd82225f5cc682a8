"""Compare a message with a protocol vector, where the value "*" matches anything present."""

from __future__ import annotations

from typing import Any

WILDCARD = "*"


def matches(expected: Any, actual: Any) -> bool:
    if expected == WILDCARD:
        return True
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(matches(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(matches(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)
