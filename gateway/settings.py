"""The kiosk's typed settings: a TOML file plus ``NONGAN_`` environment overrides.

Loaded and validated once, in ``main()``, and passed down; nothing reads the environment at
import time. A bad file gives one line naming the file and the field::

    /etc/nongan/gateway.toml: device.id: String should match pattern '^[a-z0-9][a-z0-9-]{2,62}$'

Environment variables override the file, with ``__`` between levels:
``NONGAN_BROKER__URL=mqtt://10.0.0.5:1883``, ``NONGAN_DEVICE__ID=kiosk-0042``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from device_drivers.config import DevicesConfig
from protocol import SignatureError, load_public_key
from protocol.config import (
    BrokerConnection,
    ConfigError,
    EnvOverFileSettings,
    Section,
    load_toml_settings,
)
from protocol.topics import DEVICE_ID_PATTERN

from .clock import local_day

__all__ = ["ConfigError", "GatewaySettings", "load_settings"]

DEFAULT_CONFIG_PATH = Path("/etc/nongan/gateway.toml")


_Section = Section


class DeviceSection(_Section):
    id: Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)] = Field(
        description="This kiosk's device id: its MQTT topic level and certificate signer."
    )
    station_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,16}$")] = Field(
        description="The service station's short code, used in human certificate serials."
    )
    station_name: str = ""
    place_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$")]
    data_dir: Path = Path("/var/lib/nongan")


class BrokerSection(BrokerConnection):
    """The kiosk's broker connection (``protocol.config.BrokerConnection``)."""


class LinkSection(_Section):
    inflight_window: int = Field(default=20, ge=1, le=1000,
                                 description="QoS 1 publishes awaiting their PUBACK at once.")
    records_per_publish: int = Field(
        default=20, ge=1, le=100,
        description="Ledger records per publish when several are waiting (event/batch): over "
        "a slow link, throughput is window x records per publish / round trip.",
    )
    telemetry_interval_s: float = Field(default=60.0, gt=0)
    resend_after_s: float = Field(
        default=60.0, gt=0,
        description="Re-send a published record the cloud has not acknowledged after this long.",
    )
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=120.0, gt=0)
    stable_after_s: float = Field(
        default=60.0, ge=0,
        description="A connection must last this long before the backoff is reset.",
    )
    acked_retention_days: float = Field(
        default=30.0, ge=0,
        description="Keep acknowledged records this long before pruning them.",
    )


class UiSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    language: Literal["zh-CN", "en"] = "zh-CN"


class ClockSection(_Section):
    trust_system_clock: bool = Field(
        default=False,
        description="Treat the wall clock as synchronised without asking the kernel (for a "
        "development machine or the demo; a kiosk should let NTP/RTC state decide).",
    )
    timezone: str = Field(default="Asia/Shanghai",
                          description="For serials, screens and kit expiry days.")

    def zone(self) -> ZoneInfo:
        """The kiosk's time zone."""
        return ZoneInfo(self.timezone)

    def local_date(self, when: datetime) -> date:
        """The kiosk's calendar day at ``when`` (aware): a kit printed "expires 2026-11-24"
        is usable through that day where the kiosk stands, not through that day in UTC."""
        return local_day(when, self.zone())

    def today(self) -> date:
        """Today where the kiosk stands, by the system's wall clock (technician commands, the
        demo's kit labels); the station uses its ``KioskClock.today``."""
        return self.local_date(datetime.now(UTC))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "Asia/Shanghai)") from exc
        return value


class StationSection(_Section):
    reader_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "reader-1"
    calibration_interval_days: float = Field(default=30.0, gt=0)
    cassette_timeout_s: float = Field(default=180.0, gt=0)
    led_level: float = Field(default=0.8, ge=0, le=1)
    incubation_temperature_c: float | None = Field(
        default=None, ge=15, le=45,
        description="Hold the tray at this temperature while incubating (None: no heating).",
    )
    incubation_time_scale: float = Field(
        default=1.0, gt=0, le=1,
        description="Shorten incubation for a simulated camera (the demo); must be 1 with a "
        "real camera, where the chemistry takes the time it takes.",
    )
    max_retests: int = Field(default=2, ge=0, le=5,
                             description="Re-tests after a suspect or invalid reading.")


class StorageSection(_Section):
    disk_warn_mb: float = Field(default=1024, ge=0, description="Warn below this much free.")
    disk_refuse_mb: float = Field(
        default=256, ge=0,
        description="Refuse new tests below this much free, long before SQLite would fail.",
    )
    health_check_interval_s: float = Field(default=60.0, gt=0)


class OriginChoice(_Section):
    """A place a producer can pick as the origin of their produce (no typing of codes)."""

    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]


class SessionSection(_Section):
    """The kiosk flow's timeouts and limits (see gateway.session)."""

    step_timeout_s: float = Field(
        default=120.0, ge=10,
        description="A screen waiting for the person ends (and forgets them) after this long "
        "without a tap.",
    )
    long_step_timeout_s: float = Field(
        default=300.0, ge=10,
        description="The same for screens that take longer: registering, preparing a sample.",
    )
    warning_s: float = Field(
        default=30.0, ge=3,
        description="A warning with one tap to continue is shown this long before the end.",
    )
    pin_attempts: int = Field(
        default=3, ge=1, le=10,
        description="Wrong PINs in a row before a name is locked for a while (5 min, then "
        "doubling each time).")
    pin_max_failures: int = Field(
        default=9, ge=3, le=30,
        description="Wrong PINs in a row before a name is locked until station staff unlock it "
        "(nongan pins unlock); the producer's card still works.")
    recent_producers: int = Field(default=6, ge=0, le=12)
    origins: list[OriginChoice] = Field(
        default_factory=list,
        description="Villages near the kiosk a producer can pick as origin (the kiosk's own "
        "place code is always offered first).",
    )

    @model_validator(mode="after")
    def _warning_fits(self) -> SessionSection:
        if self.warning_s >= min(self.step_timeout_s, self.long_step_timeout_s):
            raise ValueError("warning_s must be shorter than the step timeouts")
        return self


class KitsSection(_Section):
    catalogue: Path | None = Field(
        default=None, description="Kit catalogue folder (None: the one shipped with nongan)."
    )


class UpdateSection(_Section):
    """Software and firmware updates (gateway.update; docs/operations.md, "Releases")."""

    root: Path = Field(default=Path("/opt/nongan"),
                       description="Where the releases live: releases/<version>/.venv, and "
                       "the links current and previous.")
    release_keys: list[str] = Field(
        default_factory=list,
        description="Release public keys (base64url) this kiosk accepts bundles from. Empty: "
        "no bundle is accepted. Rotate by listing the new key beside the old one first.")
    host_site_packages: Path | None = Field(
        default=None,
        description="A dependency environment that bundles without dependency wheels are "
        "layered over (None: only bundles that carry their dependencies are installable).")
    health_timeout_s: float = Field(
        default=300.0, ge=1,
        description="A new release must pass its self-check and run settle_s without a "
        "restart within this time, or the kiosk goes back to the previous release.")
    settle_s: float = Field(default=30.0, ge=0,
                            description="How long the kiosk service must run without a "
                            "restart on a new release.")
    max_attempts: int = Field(default=2, ge=1, le=10,
                              description="Guard runs (boots) a new release gets before it "
                              "is rolled back without another check.")
    quiet_s: float = Field(default=60.0, ge=0,
                           description="The kiosk must be idle this long before switching.")
    idle_timeout_s: float = Field(default=6 * 3600.0, gt=0,
                                  description="Give up waiting for an idle kiosk after this.")
    require_link: bool = Field(default=True,
                               description="A new release must reach the broker to be kept.")
    allow_http: bool = Field(default=False,
                             description="Accept http:// bundle URLs (a loopback server in "
                             "tests and the demo only; bundles are signed either way).")
    ca_file: Path | None = Field(default=None,
                                 description="CA for the bundle server's HTTPS (None: the "
                                 "system's).")
    max_bundle_mb: float = Field(default=512.0, gt=0)
    systemctl: list[str] = Field(default_factory=lambda: ["systemctl"],
                                 description="How to reach systemd (a fake in tests).")
    kiosk_unit: str = "nongan-kiosk.service"
    guard_unit: str = "nongan-update-guard.service"

    @field_validator("release_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            try:
                load_public_key(key)
            except SignatureError as exc:
                raise ValueError(f"release key {key!r}: {exc}") from exc
        return keys


class CloudSection(_Section):
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL of the cloud's public pages; certificate QR codes point below it.",
    )
    signing_keys: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]] = Field(
        default_factory=list, max_length=8,
        description="The cloud's public signing keys this kiosk pins, as printed at enrolment "
        "(`nongan bridge device add`). The kiosk acts on no ack, roster or command that one of "
        "them (or a key they endorsed: key rotation) did not sign. Empty: it trusts nothing "
        "and never forgets a record.",
    )

    @field_validator("signing_keys")
    @classmethod
    def _real_keys(cls, value: list[str]) -> list[str]:
        from .cloud_trust import check_pinned_keys

        return check_pinned_keys(value)


class GatewaySettings(EnvOverFileSettings):
    model_config = SettingsConfigDict(
        env_prefix="NONGAN_", env_nested_delimiter="__", extra="forbid"
    )

    device: DeviceSection
    broker: BrokerSection = BrokerSection()
    link: LinkSection = LinkSection()
    ui: UiSection = UiSection()
    clock: ClockSection = ClockSection()
    cloud: CloudSection = CloudSection()
    station: StationSection = StationSection()
    kits: KitsSection = KitsSection()
    session: SessionSection = SessionSection()
    storage: StorageSection = StorageSection()
    update: UpdateSection = UpdateSection()
    devices: DevicesConfig | None = Field(
        default=None,
        description="Device backends (device_drivers.config). None: this gateway drives no "
        "devices and refuses to test.",
    )

    @model_validator(mode="after")
    def _no_shortcuts_on_real_hardware(self) -> GatewaySettings:
        camera = self.devices.camera.backend if self.devices is not None else None
        if self.station.incubation_time_scale != 1.0 and camera != "simulated":
            raise ValueError(
                "station.incubation_time_scale may differ from 1 only with a simulated camera"
            )
        return self


def load_settings(path: Path | None, **overrides: Any) -> GatewaySettings:
    """Read, merge and validate the kiosk's settings.

    Args:
        path: the TOML file, or None to use only the environment and ``overrides``.
        overrides: section dictionaries that replace the file's (used by the demo and tests).

    Raises:
        ConfigError: with one line naming the file and the first bad field.
    """
    return load_toml_settings(GatewaySettings, path, overrides)
