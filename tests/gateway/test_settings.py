from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings

GOOD = """
[device]
id = "kiosk-0042"
station_id = "ST42"
place_code = "370902"
data_dir = "/tmp/x"

[broker]
url = "mqtts://broker.example:8883"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_is_read_and_typed(tmp_path):
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.device.id == "kiosk-0042"
    assert (settings.broker.host, settings.broker.port, settings.broker.tls) == (
        "broker.example", 8883, True)
    assert settings.link.inflight_window == 20


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NONGAN_BROKER__URL", "mqtt://10.0.0.5:1884")
    monkeypatch.setenv("NONGAN_LINK__INFLIGHT_WINDOW", "50")
    settings = load_settings(write(tmp_path, GOOD))
    assert (settings.broker.host, settings.broker.port) == ("10.0.0.5", 1884)
    assert settings.link.inflight_window == 50


def test_missing_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing)
    assert str(caught.value) == f"{missing}: file not found"


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Tests run as root in CI, where chmod 000 does not stop a read: fake the OS refusal.
    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ConfigError, match="not readable"):
        load_settings(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)


def test_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"gateway\.toml: not valid TOML"):
        load_settings(write(tmp_path, "[device\nid="))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD.replace('"kiosk-0042"', '"Kiosk 42"'), "device.id"),
        (GOOD.replace("mqtts://broker.example:8883", "http://x"), "broker.url"),
        (GOOD.replace('[broker]', '[broker]\nkeepalive_s = 1'), "broker.keepalive_s"),
        (GOOD + "\n[surprise]\nx = 1\n", "surprise"),
        (GOOD.replace('place_code = "370902"', ""), "device.place_code"),
    ],
)
def test_invalid_fields_are_named(tmp_path, text, field):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {field}:"), message
    assert "\n" not in message


def test_the_time_zone_must_be_known(tmp_path):
    assert load_settings(write(tmp_path, GOOD)).clock.timezone == "Asia/Shanghai"
    path = write(tmp_path, GOOD + '\n[clock]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: clock.timezone:"), caught.value


def test_kit_expiry_days_are_the_kiosks_own_days(tmp_path: Path) -> None:
    late_evening_utc = datetime(2026, 11, 24, 16, 1, tzinfo=UTC)  # 00:01 in Shanghai
    assert load_settings(write(tmp_path, GOOD)).clock.local_date(late_evening_utc) == \
        date(2026, 11, 25)
    utc = load_settings(write(tmp_path, GOOD + '\n[clock]\ntimezone = "UTC"\n'))
    assert utc.clock.local_date(late_evening_utc) == date(2026, 11, 24)
