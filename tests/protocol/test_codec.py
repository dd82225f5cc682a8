import json

import pytest

from protocol import (
    MAX_PAYLOAD_BYTES,
    CertificateEvent,
    ProtocolError,
    TestReadingEvent,
    decode,
    encode,
    generate_private_key,
    seal,
    verify_object,
)
from protocol.signing import public_key_text

from .samples import header, reading, reading_event

TOPIC = "nongan/v1/kiosk-0001/event/test"


def sealed_event(**overrides):
    key = generate_private_key()
    fields = {k: v for k, v in reading_event().items()}
    fields.update(overrides)
    model, payload = seal(TestReadingEvent, fields, key)
    return key, model, payload


def test_seal_then_decode_then_verify():
    key, model, payload = sealed_event()
    decoded = decode(TOPIC, payload)
    assert decoded.message == model
    verify_object(decoded.raw, public_key_text(key))
    assert payload == encode(decoded.raw)  # canonical bytes on the wire


def test_seal_refuses_an_invalid_message():
    with pytest.raises(ProtocolError, match="refusing to send an invalid TestReadingEvent"):
        seal(TestReadingEvent, {**reading_event(), "seq": 0}, generate_private_key())


@pytest.mark.parametrize(
    ("payload", "code", "reason"),
    [
        (b"{not json", "malformed", "not valid JSON"),
        (b"\xff\xfe", "malformed", "not UTF-8"),
        (b"[1, 2]", "malformed", "not an object"),
        (b'{"v": NaN}', "malformed", "NaN"),
        (b'{"v": 2, "kind": "test_reading"}', "bad_version", "schema version 2"),
        (b'{"kind": "test_reading"}', "bad_version", "schema version None"),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), "too_large", "exceeds the limit"),
    ],
)
def test_bad_payloads_have_reasons(payload, code, reason):
    with pytest.raises(ProtocolError, match=reason) as caught:
        decode(TOPIC, payload)
    assert caught.value.code == code


def test_schema_mismatch_names_the_field():
    _, _, payload = sealed_event()
    obj = json.loads(payload)
    obj["reading"]["call"] = "maybe"
    with pytest.raises(ProtocolError, match=r"reading\.call") as caught:
        decode(TOPIC, json.dumps(obj).encode())
    assert caught.value.code == "schema"


def test_unknown_members_are_refused():
    _, _, payload = sealed_event()
    obj = {**json.loads(payload), "surprise": 1}
    with pytest.raises(ProtocolError, match="surprise"):
        decode(TOPIC, json.dumps(obj).encode())


def test_topic_device_must_match_the_message():
    _, _, payload = sealed_event()
    with pytest.raises(ProtocolError, match="published on 'kiosk-0002'") as caught:
        decode("nongan/v1/kiosk-0002/event/test", payload)
    assert caught.value.code == "device_mismatch"


def test_message_must_match_its_topic_kind():
    _, _, payload = sealed_event()
    with pytest.raises(ProtocolError, match="CertificateEvent"):
        decode("nongan/v1/kiosk-0001/event/certificate", payload)


def test_unknown_event_topic():
    _, _, payload = sealed_event()
    with pytest.raises(ProtocolError, match="unknown event type"):
        decode("nongan/v1/kiosk-0001/event/weather", payload)


def test_certificate_event_discriminates_on_action():
    key = generate_private_key()
    fields = {
        **header(),
        "kind": "certificate",
        "seq": 3,
        "body": {
            "action": "voided",
            "token": "A" * 22,
            "serial": "ST01-20261124-0001",
            "reason": "printer jam",
            "voided_at": "2026-11-24T09:00:00Z",
        },
    }
    model, payload = seal(CertificateEvent, fields, key)
    assert model.body.action == "voided"
    assert decode("nongan/v1/kiosk-0001/event/certificate", payload).message == model


def test_reading_requires_frame_hashes():
    with pytest.raises(ProtocolError, match="frames_sha256"):
        seal(
            TestReadingEvent,
            {**reading_event(), "reading": reading(frames_sha256=[])},
            generate_private_key(),
        )
