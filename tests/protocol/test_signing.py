import pytest

from protocol import (
    SignatureError,
    canonical_json,
    generate_private_key,
    public_key_text,
    sign_object,
    verify_object,
)
from protocol.errors import ProtocolError


def test_signature_round_trip_and_key_order_does_not_matter():
    key = generate_private_key()
    signed = sign_object({"b": 1, "a": "农安", "c": [1.5, None]}, key)
    reordered = {"c": [1.5, None], "sig": signed["sig"], "a": "农安", "b": 1}
    verify_object(reordered, public_key_text(key))


def test_any_change_breaks_the_signature():
    key = generate_private_key()
    signed = sign_object({"seq": 7, "device_id": "kiosk-0001"}, key)
    tampered = {**signed, "seq": 8}
    with pytest.raises(SignatureError, match="does not match"):
        verify_object(tampered, public_key_text(key))


def test_another_devices_key_is_rejected():
    signed = sign_object({"x": 1}, generate_private_key())
    with pytest.raises(SignatureError):
        verify_object(signed, public_key_text(generate_private_key()))



def test_a_value_with_no_canonical_form_is_a_signature_failure():
    # Found by the fuzz test: mono_ms set to 2**53 still matches the schema, but no kiosk can
    # have signed it, so it must be refused as a bad signature, not crash the verifier.
    key = generate_private_key()
    signed = sign_object({"mono_ms": 5}, key)
    with pytest.raises(SignatureError, match="no canonical form"):
        verify_object({**signed, "mono_ms": 2**53}, public_key_text(key))

@pytest.mark.parametrize(
    ("sig", "reason"),
    [(None, "not signed"), ("", "not signed"), ("!!!", "base64url|64 bytes"), ("AAAA", "64 bytes")],
)
def test_malformed_signatures_have_reasons(sig, reason):
    obj = {"x": 1} if sig is None else {"x": 1, "sig": sig}
    with pytest.raises(SignatureError, match=reason):
        verify_object(obj, public_key_text(generate_private_key()))


def test_malformed_public_key():
    with pytest.raises(SignatureError, match="32 bytes"):
        verify_object({"x": 1, "sig": "A" * 86}, "AAAA")


def test_canonical_json_is_rfc8785():
    # Keys sorted by UTF-16 code units, no whitespace, shortest round-trip numbers.
    assert canonical_json({"b": 1.0, "a": [1e21, 0.1], "é": "x"}) == (
        '{"a":[1e+21,0.1],"b":1,"é":"x"}'.encode()
    )


def test_canonical_json_refuses_nan():
    with pytest.raises(ProtocolError, match="canonicalised"):
        canonical_json({"x": float("nan")})
