"""The ``[notify]`` settings: defaults, environment overrides, and refusals in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_bridge.notify import build_notifiers
from cloud_bridge.settings import ConfigError, load_settings


def test_defaults_make_no_channel_until_configured() -> None:
    settings = load_settings(None)
    assert settings.notify.channels == ["email", "webhook"]
    assert settings.notify.escalation == {"positive": [30.0]}
    assert build_notifiers(settings.notify) == {}  # no SMTP host, no webhook secret


def test_the_environment_configures_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NONGAN_BRIDGE_NOTIFY__SMTP__HOST", "smtp.example.cn")
    monkeypatch.setenv("NONGAN_BRIDGE_NOTIFY__SMTP__SECURITY", "ssl")
    settings = load_settings(None, notify={"channels": ["email", "sms"]})
    assert (settings.notify.smtp.host, settings.notify.smtp.security) == ("smtp.example.cn",
                                                                          "ssl")
    built = build_notifiers(settings.notify)
    assert sorted(built) == ["email", "sms"]


@pytest.mark.parametrize(("notify", "words"), [
    ({"escalation": {"positive": [60, 30]}}, "rising order"),
    ({"escalation": {"positive": [0]}}, "positive minutes"),
    ({"webhook": {"secret": "short"}}, "notify.webhook.secret"),
    ({"channels": ["pigeon"]}, "notify.channels"),
    ({"smtp": {"security": "tls"}}, "notify.smtp.security"),
])
def test_bad_values_are_one_line_naming_the_field(tmp_path: Path, notify: dict[str, object],
                                                  words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, notify=notify)
    assert words in str(caught.value) and "\n" not in str(caught.value)
