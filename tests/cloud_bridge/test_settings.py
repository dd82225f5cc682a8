"""The bridge's settings: defaults, the TOML file, environment overrides, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_bridge.settings import ConfigError, load_settings


def test_defaults_need_no_file() -> None:
    settings = load_settings(None)
    assert settings.database.url.startswith("sqlite:///")
    assert settings.broker.protocol == "5" and settings.ingest.shared_subscription is True
    assert settings.broker.receive_maximum > settings.ingest.batch_size


def test_file_values_and_environment_overrides(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(
        '[database]\nurl = "postgresql://nongan@db/nongan"\n'
        '[broker]\nurl = "mqtts://broker.example:8883"\nprotocol = "3.1.1"\n'
        '[ingest]\ngroup = "county-7"\nshared_subscription = false\nbatch_size = 200\n'
        '[api]\nport = 9000\npublic_base_url = "https://verify.example"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NONGAN_BRIDGE_INGEST__CLIENT_ID", "bridge-2")
    monkeypatch.setenv("NONGAN_BRIDGE_INGEST__BATCH_SIZE", "300")
    settings = load_settings(path)
    assert settings.ingest.client_id == "bridge-2"
    assert settings.ingest.batch_size == 300, "the environment beats the file"
    assert settings.ingest.group == "county-7" and not settings.ingest.shared_subscription
    assert settings.broker.tls and settings.broker.port == 8883
    assert settings.broker.protocol == "3.1.1"
    assert settings.api.port == 9000


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[ingest]\nbatch_size = 0\n", "ingest.batch_size: Input should be greater than"),
        ('[broker]\nurl = "http://x"\n', "broker.url: Value error, must look like mqtt://"),
        ('[broker]\nprotocol = "4"\n', "broker.protocol: Input should be '5' or '3.1.1'"),
        ('[database]\nurl = "mysql://x"\n', "database.url: Value error, must be a sqlite"),
        ('[ingest]\nclient_id = "a/b"\n', "ingest.client_id: String should match pattern"),
        ("[ingest]\nbatch_sise = 3\n", "ingest.batch_sise: Extra inputs are not permitted"),
        ("[ingest\n", "not valid TOML"),
    ],
)
def test_a_bad_file_gives_one_line_naming_the_file_and_the_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found$"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[x]")
    with pytest.raises(ConfigError, match=r"binary\.toml: not (UTF-8|valid TOML)"):
        load_settings(binary)


def test_a_bad_environment_value_is_reported_like_a_file_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NONGAN_BRIDGE_API__PORT", "seventy")
    with pytest.raises(ConfigError, match=r"^\(settings\): api.port: "):
        load_settings(None)
