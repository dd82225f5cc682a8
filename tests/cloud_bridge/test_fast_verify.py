"""Ingest's signature check gives exactly protocol.verify_object's verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloud_bridge.ingest import fast_verify
from protocol import SignatureError, generate_private_key, public_key_text, verify_object
from protocol.signing import load_public_key
from tests.support.kiosk_messages import FakeKiosk


def verdict(check: Any, obj: dict[str, Any], key: str) -> str:
    try:
        check(obj, key)
    except SignatureError as exc:
        return f"refused: {exc}"
    return "accepted"


def reference(obj: dict[str, Any], key: str) -> None:
    verify_object(obj, load_public_key(key))


def cases() -> list[tuple[str, dict[str, Any], str]]:
    kiosk, other = FakeKiosk(), generate_private_key()
    good = json.loads(kiosk.certificate()[1])
    tampered = json.loads(json.dumps(good))
    tampered["body"]["certificate"]["quantity"] = 5000
    unsigned = {k: v for k, v in good.items() if k != "sig"}
    flipped = dict(good, sig=("B" if good["sig"][0] != "B" else "C") + good["sig"][1:])
    return [
        ("good", good, kiosk.public_key),
        ("tampered", tampered, kiosk.public_key),
        ("other key", good, public_key_text(other)),
        ("no sig", unsigned, kiosk.public_key),
        ("short sig", dict(good, sig="abc"), kiosk.public_key),
        ("sig not base64", dict(good, sig="*" * 86), kiosk.public_key),
        ("flipped sig", flipped, kiosk.public_key),
        ("sig is a number", dict(good, sig=5), kiosk.public_key),
        ("bad key", good, "A" * 43),
        ("NaN inside", dict(good, extra=float("nan")), kiosk.public_key),
    ]


@pytest.mark.parametrize(("name", "obj", "key"), cases(), ids=[c[0] for c in cases()])
def test_fast_verification_agrees_with_the_reference(name: str, obj: dict[str, Any],
                                                     key: str) -> None:
    try:
        expected = verdict(reference, obj, key)
    except Exception as exc:  # the reference raising something else must be matched too
        with pytest.raises(type(exc)):
            fast_verify.verify(obj, key)
        return
    assert verdict(fast_verify.verify, obj, key) == expected
    assert (expected == "accepted") == (name == "good")


def test_many_kiosks_many_messages() -> None:
    for _ in range(20):
        kiosk = FakeKiosk()
        for topic_payload in (kiosk.reading(), kiosk.producer(), kiosk.lot(), kiosk.status()):
            fast_verify.verify(json.loads(topic_payload[1]), kiosk.public_key)
