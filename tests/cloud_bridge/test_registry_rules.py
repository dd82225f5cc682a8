"""Pure rules: the credit level, shown times, the token bucket, broker password hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud_bridge.api.i18n import CATALOG, pick_language
from cloud_bridge.api.ratelimit import TokenBucket, client_address
from cloud_bridge.domain.broker_auth import check_password, mosquitto_hash
from cloud_bridge.domain.credit import POINTS, level_from
from cloud_bridge.domain.times import BootAnchor, shown_time

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.mark.parametrize(("kinds", "level"), [
    ([], "A"),
    (["voided_certificate"], "B"),
    (["voided_certificate"] * 4, "B"),
    (["market_rejection", "voided_certificate", "voided_certificate"], "C"),
    (["revoked_certificate"], "C"),
    (["positive_result"], "D"),
])
def test_credit_levels_follow_the_documented_rule(kinds: list[str], level: str) -> None:
    events = [(POINTS[k], NOW - timedelta(days=10)) for k in kinds]
    assert level_from(events, has_certificates=True, now=NOW).level == level


def test_credit_events_expire_after_a_year_and_new_producers_are_unrated() -> None:
    old = [(POINTS["positive_result"], NOW - timedelta(days=366))]
    assert level_from(old, has_certificates=True, now=NOW).level == "A"
    assert level_from([], has_certificates=False, now=NOW).level == "new"


def test_shown_time_prefers_a_synced_kiosk_clock_and_never_shows_1970() -> None:
    received = NOW
    synced = shown_time(NOW - timedelta(minutes=3), True, received)
    assert synced.at == NOW - timedelta(minutes=3) and not synced.flagged
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert shown_time(epoch, True, received).at == received  # "synced" but plainly wrong
    assert shown_time(epoch, False, received).source == "received"
    anchor = BootAnchor("b" * 32, NOW - timedelta(minutes=1), 600_000)
    corrected = shown_time(epoch, False, received, boot_id="b" * 32, mono_ms=540_000,
                           anchor=anchor)
    assert corrected.source == "corrected"
    assert corrected.at == NOW - timedelta(minutes=2)
    other_boot = shown_time(epoch, False, received, boot_id="c" * 32, mono_ms=1, anchor=anchor)
    assert other_boot.source == "received"


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = [0.0]
    bucket = TokenBucket(60, 3, clock=lambda: clock[0])
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0.0  # another client has its own bucket
    clock[0] += 1.0
    assert bucket.take("a") == 0.0
    assert bucket.take("a") > 0
    assert TokenBucket(0, 1).take("x") == 0.0  # off


def test_the_bucket_table_is_bounded() -> None:
    bucket = TokenBucket(60, 1, max_clients=10)
    for i in range(100):
        bucket.take(f"client-{i}")
    assert len(bucket._buckets) == 10


def test_client_address_trusts_forwarded_for_only_from_a_proxy() -> None:
    trusted = {"127.0.0.1"}
    assert client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", "1.2.3.4", trusted) == "1.2.3.4"
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4, 127.0.0.1", trusted) == "1.2.3.4"


def test_broker_password_hashes_have_mosquittos_format() -> None:
    hashed = mosquitto_hash("s3cret", salt=b"0123456789ab")
    assert hashed.startswith("$7$101$MDEyMzQ1Njc4OWFi$")
    assert check_password("s3cret", hashed) and not check_password("other", hashed)
    assert mosquitto_hash("s3cret") != mosquitto_hash("s3cret")  # salted


def test_both_catalogues_have_the_same_words_and_languages_are_picked() -> None:
    assert CATALOG["zh-CN"].keys() == CATALOG["en"].keys()
    assert pick_language(None, None) == "zh-CN"
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language(None, "en-GB,en;q=0.8") == "en"
    assert pick_language("fr", "de-DE") == "zh-CN"
