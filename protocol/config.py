"""The settings plumbing kiosk and cloud share: how a settings file is read, how the
environment overrides it, how an error is reported, and how the broker is reached.

Kiosk and cloud may share nothing but this package, so the one way both read a TOML file and
connect to the broker lives here (and nowhere else): a bad file gives one line naming the file
and the field, e.g. ``/etc/nongan/gateway.toml: device.id: String should match pattern ...``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from .codec import validation_problems

S = TypeVar("S", bound=BaseSettings)


class ConfigError(Exception):
    """A settings file that is missing, unreadable or invalid; the message is one line."""


class Section(BaseModel):
    """A settings section: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class EnvOverFileSettings(BaseSettings):
    """Settings whose file values arrive as init arguments and the environment beats them."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings


PLACEHOLDER_SECRETS = frozenset({
    "", "…", "...", "change-me", "changeme", "change_me", "password", "secret", "todo", "xxx",
    "<password>", "your-password", "your_password",
})
"""Values copied from examples rather than set: refused wherever a secret is expected."""


class BrokerConnection(Section):
    """Where the MQTT broker is and how to log in."""

    url: str = "mqtt://127.0.0.1:1883"
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)

    @field_validator("password")
    @classmethod
    def _not_a_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(f"{value!r} is a placeholder, not a password: set the one the "
                             "broker's account was made with")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError("must look like mqtt://host:port or mqtts://host:port")
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts" or self.ca_file is not None


def describe_error(exc: ValidationError) -> str:
    """The first problem as 'field: problem (and N more)', for one line of a settings error."""
    [first], more = validation_problems(exc, 1, whole="(file)")
    return first + (f" (and {more} more)" if more else "")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except PermissionError:
        raise ConfigError(f"{path}: not readable (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a settings file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason}") from None


def load_toml_settings(cls: type[S], path: Path | None, overrides: dict[str, Any]) -> S:
    """Read ``path`` (if given), let ``overrides`` replace its sections, validate as ``cls``.

    Raises:
        ConfigError: with one line naming the file and the first bad field.
    """
    data = read_toml(path) if path is not None else {}
    data.update(overrides)
    try:
        return cls(**data)
    except ValidationError as exc:
        raise ConfigError(f"{path or '(settings)'}: {describe_error(exc)}") from None
