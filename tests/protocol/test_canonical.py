"""The canonical JSON fast path gives exactly the bytes of the rfc8785 reference, always."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from protocol import ProtocolError, canonical_json
from protocol.canonical import uses_fast_path
from tests.support.kiosk_messages import FakeKiosk

# Text that exercises escaping: control characters, quotes, backslashes, DEL, U+2028, CJK,
# astral characters, and (rarely) lone surrogates.
text = st.text(alphabet=st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(['"', "\\", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
                     "\u2028", "\u2029", "张", "\U0001f600", "\ue000", "\uffff"]),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
), max_size=12)
keys = st.one_of(text, st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=8))
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-5, max_value=1e17),
    st.sampled_from([0.0, -0.0, 1.0, 50.0, 1e-4, 1e16, 9.999999999999998e15, 1.12, 0.1, -2.5,
                     1e21, 1e-7, 5e-324, 1.7976931348623157e308, 123456789.123]),
)
ints = st.one_of(st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2), st.integers())
scalars = st.one_of(st.none(), st.booleans(), ints, floats, text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


def reference(value: Any) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return None


@settings(max_examples=int(os.environ.get("NONGAN_CANONICAL_EXAMPLES", "600")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
@example({"b": 1, "a": [1.5, "x\u2028\x7f", None, True]})
@example({"é": 1, "z": 2, "\U0001f600": 3, "\uffff": 4})
@example([50.0, -0.0, 1e16, 1e-4, 0.0001, 9.999999999999998e15])
def test_canonical_json_equals_the_reference_byte_for_byte(value: Any) -> None:
    expected = reference(value)
    if expected is None:
        with pytest.raises(ProtocolError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@given(st.floats(min_value=1e-4, max_value=1e16, exclude_max=True).filter(
    lambda f: not f.is_integer()))
def test_every_float_of_the_fast_range_prints_like_ecmascript(value: float) -> None:
    assert uses_fast_path(value)
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(-value) == rfc8785.dumps(-value)


def test_real_messages_take_the_fast_path() -> None:
    kiosk = FakeKiosk()
    for _, payload in (kiosk.certificate(), kiosk.reading(), kiosk.telemetry(),
                       kiosk.producer(), kiosk.lot()):
        obj = json.loads(payload)
        assert uses_fast_path(obj), obj
        obj.pop("sig")
        assert canonical_json(obj) == rfc8785.dumps(obj)


@pytest.mark.parametrize("value", [50.0, 1e16, 1e-5, math.pi * 1e20, {"é": 1}, (1, 2),
                                   2**53, "\ud800"])
def test_values_outside_the_fast_path_use_the_reference(value: Any) -> None:
    assert not uses_fast_path(value) or value == "\ud800"
    expected = reference(value)
    if expected is None:
        with pytest.raises(ProtocolError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected
