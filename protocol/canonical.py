"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for signing.

A signature is made over bytes, and two machines must agree on the bytes of a JSON object:
RFC 8785 fixes key order, number formatting and string escaping. The ``rfc8785`` package is
the reference implementation from Trail of Bits, and the definition of our bytes.

It is pure Python (~60 µs for a certificate), which the cloud pays for every message it
verifies. Most messages are in a subset where the standard library's C encoder already
produces exactly the RFC 8785 bytes, so ``canonical_json`` takes that fast path when, and only
when, every part of the value is in it:

- object keys are ASCII strings (UTF-16 and code-point order agree; RFC 8785 sorts by UTF-16);
- strings: ``json.dumps(ensure_ascii=False)`` escapes exactly what ECMAScript's
  ``JSON.stringify`` escapes (``"``, ``\\``, the control characters, with lower-case ``\\u00xx``
  and the short forms ``\\b \\f \\n \\r \\t``); lone surrogates fail the UTF-8 encode and fall back;
- integers within ±(2**53 - 1), booleans and null;
- floats that are not integral, with 1e-4 <= |x| < 1e16: there Python's ``repr`` and
  ECMAScript's ``Number.prototype.toString`` both print the shortest round-trip digits in
  plain decimal notation. (Integral floats print ``1.0`` in Python and ``1`` in ECMAScript;
  outside that range the exponent forms differ.)

Anything else goes to ``rfc8785``. ``tests/protocol/test_canonical.py`` checks byte equality
with ``rfc8785`` over random JSON with hypothesis, and that the fast path is actually taken.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from .errors import ProtocolError

_INT_MAX = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            allow_nan=False, check_circular=False)


def _fast_path_ok(value: Any) -> bool:
    """True if the standard encoder gives the RFC 8785 bytes for ``value`` (see above)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -_INT_MAX <= value <= _INT_MAX
    if kind is float:
        magnitude = abs(value)
        return 1e-4 <= magnitude < 1e16 and not value.is_integer()
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _fast_path_ok(item):
                return False
        return True
    if kind is list:
        return all(_fast_path_ok(item) for item in value)
    return False


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value.

    Raises:
        ProtocolError: the value holds something JSON cannot carry exactly (NaN, infinity,
            an integer beyond ±2**53, a non-string key, a lone surrogate).
    """
    if _fast_path_ok(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation say so
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ProtocolError(f"value cannot be canonicalised as JSON: {exc}") from exc


def uses_fast_path(value: Any) -> bool:
    """Whether ``canonical_json(value)`` takes the standard-library path (for tests, benches)."""
    return _fast_path_ok(value)
