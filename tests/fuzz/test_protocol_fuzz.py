"""Property tests on the decoding gate: whatever arrives, the answer is a decoded message or a
ProtocolError with a reason — never another exception, never a crash."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import ProtocolError, decode, parse_topic
from protocol.errors import SignatureError
from protocol.signing import verify_object
from tests.support.kiosk_messages import FakeKiosk

TOPICS = st.sampled_from([
    "nongan/v1/kiosk-0001/event/test", "nongan/v1/kiosk-0001/event/certificate",
    "nongan/v1/kiosk-0001/status", "nongan/v1/kiosk-0001/telemetry",
    "nongan/v1/kiosk-0001/cmd-result/diagnostics", "nongan/v1/kiosk-0001/event/lot",
])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)

KIOSK = FakeKiosk(device_id="kiosk-0001")
VALID = [KIOSK.certificate(), KIOSK.reading(), KIOSK.status(), KIOSK.telemetry()]


def decode_or_reason(topic: str, payload: bytes) -> None:
    try:
        decode(topic, payload)
    except ProtocolError as exc:
        assert exc.reason and exc.code


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TOPICS, st.binary(max_size=2000))
def test_arbitrary_bytes(topic, payload):
    decode_or_reason(topic, payload)


@settings(max_examples=300)
@given(TOPICS, JSON)
def test_arbitrary_json(topic, value):
    decode_or_reason(topic, json.dumps(value).encode())


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_arbitrary_topics(topic):
    try:
        parse_topic(topic)
    except ProtocolError as exc:
        assert exc.reason


@settings(max_examples=200)
@given(st.sampled_from(VALID), st.data())
def test_any_mutation_of_a_valid_message_is_refused_or_unsigned(message, data):
    topic, payload = message
    obj = json.loads(payload)
    key = data.draw(st.sampled_from(sorted(k for k in obj if k != "sig")))
    obj[key] = data.draw(JSON.filter(lambda v: v != obj[key]))
    try:
        decoded = decode(topic, json.dumps(obj).encode())
    except ProtocolError:
        return
    # If it still matches the schema, the signature must catch the change.
    try:
        verify_object(decoded.raw, KIOSK.public_key)
    except SignatureError:
        return
    raise AssertionError(f"a changed {key!r} passed every check")
