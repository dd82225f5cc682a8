"""The outbox on SQLite and PostgreSQL: one row per recipient and channel, unique by dedupe
key; claims with a lease; backoff with jitter; giving up; sending again."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from cloud_bridge.domain.errors import Conflict
from cloud_bridge.notify import RetryLater, RetryPolicy, Undeliverable, enqueue, retry
from cloud_bridge.notify.outbox import claim, record_failure, record_sent
from cloud_bridge.store import session_factory

from .conftest import Clock
from .helpers import contact, notifications

CHANNELS = ["email", "webhook"]


def put(engine: Engine, clock: Clock, key: str = "positive:r-1:0",
        recipient: str = "zhang.wei") -> None:
    with session_factory(engine).begin() as session:
        enqueue(session, message_key=key, recipient=recipient, template_key="positive_alert",
                params={"reading": "r-1"}, now=clock(), channels=CHANNELS,
                link="https://x/dashboard/alerts/positive/r-1", ref="positive:r-1")


def test_one_row_per_enabled_channel_and_a_repeat_adds_nothing(store: Engine,
                                                               clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example",
            webhook_url="https://hooks.example/x", phone="13812345678", language="en")
    put(store, clock)
    put(store, clock)  # the same message again: a poller that saw the alert twice
    rows = notifications(store)
    assert [(r.channel, r.address, r.status, r.language) for r in rows] == [
        ("email", "zw@county.example", "pending", "en"),
        ("webhook", "https://hooks.example/x", "pending", "en")]  # sms is not enabled
    assert {r.dedupe_key for r in rows} == {"positive:r-1:0/zhang.wei/email",
                                            "positive:r-1:0/zhang.wei/webhook"}
    put(store, clock, key="positive:r-1:1")
    assert len(notifications(store)) == 4


def test_nobody_to_send_to_is_in_the_log_not_silent(store: Engine, clock: Clock) -> None:
    put(store, clock, recipient="ghost")
    contact(store, "no.address", clock, phone="13812345678")
    put(store, clock, recipient="no.address")
    rows = notifications(store)
    assert [(r.recipient, r.channel, r.status) for r in rows] == [
        ("ghost", "none", "given_up"), ("no.address", "none", "given_up")]
    assert "no contact of that name" in (rows[0].last_error or "")
    assert "no address for the enabled channels" in (rows[1].last_error or "")


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_s=30, max_s=3600, max_attempts=10)
    rng = random.Random(1)
    for attempts, base in ((1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)):
        delays = {policy.delay(attempts, rng).total_seconds() for _ in range(50)}
        assert all(base / 2 <= d < base for d in delays), (attempts, min(delays), max(delays))
        assert len(delays) > 40  # jittered, not one fixed wait


def test_a_claim_is_leased_and_a_dead_workers_claim_comes_back(store: Engine,
                                                              clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock)
    factory = session_factory(store)
    with factory.begin() as session:
        [first] = claim(session, now=clock(), limit=10, lease_s=300, max_attempts=3)
    assert first.attempt == 1
    with factory.begin() as session:  # another worker, same moment: nothing for it
        assert claim(session, now=clock(), limit=10, lease_s=300, max_attempts=3) == []
    clock.advance(seconds=301)  # the first worker died mid-send: its lease ran out
    with factory.begin() as session:
        [again] = claim(session, now=clock(), limit=10, lease_s=300, max_attempts=3)
    assert again.attempt == 2 and again.id == first.id
    with factory.begin() as session:  # the late answer of the dead worker is not recorded
        record_sent(session, first, "late", now=clock())
    assert notifications(store)[0].status == "pending"
    with factory.begin() as session:
        record_sent(session, again, "accepted", now=clock())
    [row] = notifications(store)
    assert (row.status, row.receipt, row.sent_at, row.next_attempt_at) == (
        "sent", "accepted", clock(), None)


def test_the_last_attempt_that_never_reported_is_given_up_with_the_reason(
        store: Engine, clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock)
    factory = session_factory(store)
    with factory.begin() as session:
        claim(session, now=clock(), limit=10, lease_s=60, max_attempts=1)
    clock.advance(seconds=61)
    with factory.begin() as session:
        assert claim(session, now=clock(), limit=10, lease_s=60, max_attempts=1) == []
    [row] = notifications(store)
    assert row.status == "given_up" and "no result recorded" in (row.last_error or "")


def test_failures_retry_with_backoff_then_give_up(store: Engine, clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock)
    factory = session_factory(store)
    policy = RetryPolicy(initial_s=30, max_s=3600, max_attempts=2)
    rng = random.Random(3)
    with factory.begin() as session:
        [item] = claim(session, now=clock(), limit=10, lease_s=300, max_attempts=2)
        assert record_failure(session, item, RetryLater("refused"), now=clock(), policy=policy,
                              rng=rng) == "failed"
    [row] = notifications(store)
    assert row.next_attempt_at is not None
    assert clock() + timedelta(seconds=15) <= row.next_attempt_at < clock() + timedelta(
        seconds=30)
    assert row.last_error == "refused"
    clock.advance(seconds=30)
    with factory.begin() as session:
        [item] = claim(session, now=clock(), limit=10, lease_s=300, max_attempts=2)
        assert record_failure(session, item, RetryLater("still refused"), now=clock(),
                              policy=policy, rng=rng) == "given_up"
    [row] = notifications(store)
    assert (row.status, row.attempts, row.next_attempt_at) == ("given_up", 2, None)


def test_a_permanent_refusal_gives_up_at_once_and_an_operator_can_resend(
        store: Engine, clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="typo@county.example")
    put(store, clock)
    factory = session_factory(store)
    with factory.begin() as session:
        [item] = claim(session, now=clock(), limit=10, lease_s=300, max_attempts=10)
        record_failure(session, item, Undeliverable("550 no such mailbox"), now=clock(),
                       policy=RetryPolicy(), rng=random.Random())
    [row] = notifications(store)
    assert (row.status, row.attempts) == ("given_up", 1)
    contact(store, "zhang.wei", clock, email="zw@county.example")  # the address is fixed
    with factory.begin() as session:
        retry(session, row.id, actor="op-1", now=clock())
    [row] = notifications(store)
    assert (row.status, row.attempts, row.address) == ("pending", 0, "zw@county.example")
    with factory.begin() as session, pytest.raises(Conflict, match="pending"):
        retry(session, row.id, actor="op-1", now=clock())


def test_message_keys_are_checked(store: Engine, clock: Clock) -> None:
    with session_factory(store).begin() as session:
        for bad in ("", "x" * 81, "a/b"):
            with pytest.raises(ValueError, match="message key"):
                enqueue(session, message_key=bad, recipient="x", template_key="test",
                        params={}, now=clock(), channels=CHANNELS)


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_claim_the_same_row(postgres_url: str,
                                                           clock: Clock) -> None:
    from tests.support.cloud import migrated_engine

    with migrated_engine(postgres_url) as engine:
        contact(engine, "a.sup", clock, email="a@county.example")
        contact(engine, "b.sup", clock, email="b@county.example")
        put(engine, clock, recipient="a.sup")
        put(engine, clock, recipient="b.sup")
        factory = session_factory(engine)
        with factory() as first, factory() as second:
            with first.begin():
                [mine] = claim(first, now=clock(), limit=1, lease_s=300, max_attempts=3)
                # The first worker has not committed yet, so its row stays locked: the second
                # skips it instead of waiting (without SKIP LOCKED this would block) and
                # takes what is left.
                with second.begin():
                    theirs = claim(second, now=clock(), limit=10, lease_s=300, max_attempts=3)
            assert [t.id for t in theirs] == [r.id for r in notifications(engine)
                                              if r.id != mine.id]
