"""What the cloud tells a kiosk is signed: key ids, signing and checking cloud messages, and
the topics and models of the paged roster and the key set."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from protocol import (
    Channel,
    CloudAck,
    ProtocolError,
    Roster,
    SignatureError,
    decode,
    generate_private_key,
    key_id,
    keys_topic,
    parse_topic,
    public_key_text,
    roster_topic,
    sign_cloud_object,
    subscription,
    verify_cloud_object,
)

ACK = {"v": 1, "kind": "ack", "device_id": "kiosk-0001", "acked_seq": 7,
       "time": "2026-11-24T08:00:00Z"}


def test_a_key_id_names_one_key() -> None:
    key, other = generate_private_key(), generate_private_key()
    assert key_id(key) == key_id(public_key_text(key)) == key_id(key.public_key())
    assert len(key_id(key)) == 16 and key_id(key) != key_id(other)


def test_a_signed_cloud_message_checks_only_against_the_key_that_signed_it() -> None:
    key, other = generate_private_key(), generate_private_key()
    signed = sign_cloud_object(ACK, key)
    assert signed["kid"] == key_id(key)
    assert CloudAck.model_validate(signed).acked_seq == 7
    assert verify_cloud_object(signed, {key_id(key): public_key_text(key)}) == key_id(key)
    with pytest.raises(SignatureError, match="does not trust"):
        verify_cloud_object(signed, {key_id(other): public_key_text(other)})
    # an attacker relabels the signature with a trusted key's id: it no longer matches
    relabelled = {**signed, "kid": key_id(other)}
    with pytest.raises(SignatureError, match="does not match cloud key"):
        verify_cloud_object(relabelled, {key_id(other): public_key_text(other)})
    raised = {**signed, "acked_seq": 80}
    with pytest.raises(SignatureError, match="does not match"):
        verify_cloud_object(raised, {key_id(key): public_key_text(key)})
    with pytest.raises(SignatureError, match="not signed by the cloud"):
        verify_cloud_object(dict(ACK), {key_id(key): public_key_text(key)})


def test_unsigned_cloud_messages_do_not_even_parse() -> None:
    with pytest.raises(ProtocolError, match="kid"):
        decode("nongan/v1/kiosk-0001/ack", json.dumps(ACK).encode())


def test_roster_pages_and_key_sets_have_their_own_topics() -> None:
    assert roster_topic("kiosk-0001", 0) == "nongan/v1/kiosk-0001/roster/0"
    assert keys_topic("kiosk-0001") == "nongan/v1/kiosk-0001/keys"
    assert subscription(Channel.ROSTER, device_id="kiosk-0001") == "nongan/v1/kiosk-0001/roster/+"
    parsed = parse_topic("nongan/v1/kiosk-0001/roster/12")
    assert (parsed.channel, parsed.name) == (Channel.ROSTER, "12")
    for bad in ("nongan/v1/kiosk-0001/roster", "nongan/v1/kiosk-0001/roster/01",
                "nongan/v1/kiosk-0001/roster/256", "nongan/v1/kiosk-0001/roster/x"):
        with pytest.raises(ProtocolError, match="page number"):
            parse_topic(bad)
    with pytest.raises(ProtocolError):
        roster_topic("kiosk-0001", 256)


def roster_page(page: int, pages: int) -> dict:
    key = generate_private_key()
    return sign_cloud_object({"v": 1, "kind": "roster", "device_id": "kiosk-0001",
                              "version": 3, "page": page, "pages": pages,
                              "generated_at": "2026-11-24T08:00:00Z", "producers": []}, key)


def test_a_roster_page_names_its_place_and_is_filed_only_under_it() -> None:
    assert Roster.model_validate(roster_page(1, 2)).page == 1
    with pytest.raises(ValidationError, match="page 2 of a roster of 2 pages"):
        Roster.model_validate(roster_page(2, 2))
    payload = json.dumps(roster_page(1, 2)).encode()
    assert decode("nongan/v1/kiosk-0001/roster/1", payload).message.page == 1
    with pytest.raises(ProtocolError, match="published on '0'"):
        decode("nongan/v1/kiosk-0001/roster/0", payload)
