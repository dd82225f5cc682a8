import pytest

from protocol import (
    Channel,
    ProtocolError,
    ack_topic,
    command_topic,
    event_topic,
    parse_topic,
    shared,
    status_topic,
    subscription,
)


def test_builders_and_parser_agree():
    for topic in [
        status_topic("kiosk-0001"),
        ack_topic("kiosk-0001"),
        event_topic("kiosk-0001", "certificate"),
        command_topic("kiosk-0001", "diagnostics"),
    ]:
        assert str(parse_topic(topic)) == topic
    parsed = parse_topic("nongan/v1/kiosk-0001/event/test")
    assert (parsed.device_id, parsed.channel, parsed.name) == ("kiosk-0001", Channel.EVENT, "test")


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("other/v1/kiosk-0001/status", "not under"),
        ("nongan/v2/kiosk-0001/status", "wire version"),
        ("nongan/v1/KIOSK/status", "device id"),
        ("nongan/v1/kiosk-0001/weather", "unknown channel"),
        ("nongan/v1/kiosk-0001/event", "needs one name"),
        ("nongan/v1/kiosk-0001/status/extra", "extra levels"),
        ("nongan/v1/ki/status", "device id"),
    ],
)
def test_bad_topics_are_explained(topic, reason):
    with pytest.raises(ProtocolError, match=reason):
        parse_topic(topic)


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "Kiosk-1", "k"])
def test_device_ids_cannot_break_topics(bad):
    with pytest.raises(ProtocolError):
        status_topic(bad)


def test_subscriptions():
    assert subscription(Channel.EVENT) == "nongan/v1/+/event/+"
    assert subscription(Channel.STATUS) == "nongan/v1/+/status"
    assert shared("bridge", "nongan/v1/+/status") == "$share/bridge/nongan/v1/+/status"
