"""The cloud bridge's typed settings: a TOML file plus ``NONGAN_BRIDGE_`` environment overrides.

Loaded and validated once, in the command that needs them, and passed down; nothing reads the
environment at import time. A bad file gives one line naming the file and the field::

    /etc/nongan/bridge.toml: ingest.batch_size: Input should be greater than or equal to 1

Environment variables override the file, with ``__`` between levels:
``NONGAN_BRIDGE_DATABASE__URL=postgresql+psycopg://nongan@db/nongan``,
``NONGAN_BRIDGE_INGEST__CLIENT_ID=bridge-2``.

Every field has a default, so ``nongan bridge ...`` runs without a file (SQLite in the current
folder, a broker on 127.0.0.1:1883).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_settings import SettingsConfigDict

from protocol.config import (
    BrokerConnection,
    ConfigError,
    EnvOverFileSettings,
    Section,
    load_toml_settings,
)

__all__ = ["BridgeSettings", "ConfigError", "load_settings"]

DEFAULT_CONFIG_PATH = Path("/etc/nongan/bridge.toml")

# MQTT client ids and share-group names become topic levels or session keys: keep them plain.
_PlainName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class DatabaseSection(Section):
    url: str = Field(
        default="sqlite:///nongan-cloud.db",
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://...",
    )
    busy_timeout_ms: int = Field(
        default=5000, ge=0, le=600_000,
        description="SQLite only: how long a writer waits for another writer's lock.",
    )
    pool_size: int = Field(default=5, ge=1, le=100, description="PostgreSQL connection pool.")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value


class BrokerSection(BrokerConnection):
    """The cloud worker's broker connection: ``protocol.config.BrokerConnection`` and the
    MQTT 5 session figures a consumer needs."""

    session_expiry_s: int = Field(
        default=60, ge=0, le=24 * 3600,
        description="MQTT 5: how long the broker keeps this worker's session while the worker "
        "is away. Short on purpose: Mosquitto keeps handing a departed member of a shared "
        "subscription its share of new messages until its session expires, and drops them "
        "then; kiosks re-send whatever the cloud has not acknowledged (link.resend_after_s), "
        "so a short session costs a re-send, a long one strands records (docs/reliability.md).",
    )
    max_packet_size: int = Field(
        default=266_240, ge=16 * 1024, le=268_435_455,
        description="The broker's max_packet_size (Mosquitto's setting; the deployment's is "
        "266240). The worker never publishes a larger packet: rosters are split into pages "
        "below it. A smaller limit the broker announces on connecting (MQTT 5) wins.",
    )
    receive_maximum: int = Field(
        default=2000, ge=1, le=65535,
        description="MQTT 5: how many unacknowledged messages the broker may have in flight to "
        "this worker. Must exceed ingest.batch_size, or batches wait for their own acks.",
    )


class BrokerAdminSection(BrokerConnection):
    """How the cloud provisions the broker: the dynamic security plugin's control API (an
    account with the ``nongan-admin`` role, on the cloud's listener) and, on the broker's own
    host, the files it reads. Without this section kiosks are added to and retired from the
    broker with ``nongan bridge broker-files`` and a broker restart (docs/operations.md)."""

    username: str | None = "nongan-admin"
    cloud_users: list[_PlainName] = Field(
        default_factory=lambda: ["nongan-bridge"],
        description="The workers' broker accounts (the nongan-cloud role).")
    files_dir: Path | None = Field(
        default=None,
        description="Where the broker's passwd and crl.pem are (/etc/mosquitto/nongan), when "
        "the cloud runs on the broker's host: they are rewritten after every change.")
    pki_dir: Path | None = Field(
        default=None, description="The link's PKI folder (with ca.key), to sign the CRL.")
    pid_file: Path | None = Field(
        default=None,
        description="The broker's pid file: it is sent SIGHUP after the files change, so it "
        "reads the password file and the CRL again.")


class IngestSection(Section):
    client_id: _PlainName = Field(
        default="nongan-bridge-1",
        description="Fixed MQTT client id: the broker keeps this worker's session under it. "
        "Every worker process needs its own.",
    )
    group: _PlainName = Field(
        default="nongan-bridge", description="Shared-subscription group of the ingest workers."
    )
    shared_subscription: bool = Field(
        default=True,
        description="Subscribe through $share/{group}/...: True for Mosquitto and EMQX; the "
        "demo's embedded amqtt broker ignores $share and needs False.",
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)
    batch_wait_ms: float = Field(
        default=5.0, ge=0, le=10_000,
        description="After the first message of a batch, wait at most this long for more.",
    )
    retry_initial_s: float = Field(default=0.2, gt=0, description="First database retry wait.")
    retry_max_s: float = Field(default=10.0, gt=0, description="Longest database retry wait.")
    roster_poll_s: float = Field(
        default=30.0, gt=0,
        description="How often a worker looks for kiosks whose roster is behind (changes made "
        "through the API or the command line).",
    )
    dead_letter_payload_cap: int = Field(
        default=256 * 1024, ge=0,
        description="Keep at most this many bytes of a dead-lettered payload.",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=300,
        description="How often a worker writes its heartbeat row (ingest_workers), which "
        "/healthz and the dashboard read.",
    )


class ApiSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL of the public pages, as certificate QR codes reach them (https in "
        "production). A kiosk's certificate whose verify_url is not below it is refused.",
    )
    former_public_base_urls: list[str] = Field(
        default_factory=list,
        description="Earlier public base URLs whose certificates are still accepted (after a "
        "move to a new address, while kiosks still print the old one).",
    )
    public_rate_per_minute: float = Field(
        default=120, ge=0,
        description="Public pages and the public JSON: sustained requests per minute per "
        "client address (token bucket); 0 turns the limit off (benchmarks only).",
    )
    public_burst: int = Field(default=30, ge=1, description="Requests a client may burst.")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Peers whose X-Forwarded-For names the client (the reverse proxy).",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024,
                                description="Larger request bodies are refused with 413.")
    secure_cookies: bool = Field(
        default=True,
        description="Mark the dashboard's login cookie Secure: the browser sends it over HTTPS "
        "only. Turn off only for a dashboard served over plain http on this machine (the demo).")

    @field_validator("public_base_url", "former_public_base_urls")
    @classmethod
    def _check_base_url(cls, value: str | list[str]) -> str | list[str]:
        for url in [value] if isinstance(value, str) else value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
                    or parts.fragment or parts.username:
                raise ValueError(f"{url!r} must be an http(s) URL with a host and no query")
        return value

    @property
    def accepted_base_urls(self) -> tuple[str, ...]:
        """The base URLs a kiosk's ``verify_url`` may point below (current first)."""
        return (self.public_base_url, *self.former_public_base_urls)


class DashboardSection(Section):
    offline_alert_s: float = Field(default=3600, gt=0,
                                   description="Alert when a kiosk is offline this long.")
    positive_window_h: float = Field(default=24, gt=0,
                                     description="Show positive results of the last N hours.")
    invalid_rate: float = Field(default=0.2, ge=0, le=1,
                                description="Alert above this share of invalid readings...")
    invalid_min_readings: int = Field(default=10, ge=1,
                                      description="...among at least this many in a day.")
    calibration_max_age_days: float = Field(default=30, gt=0)
    kit_expiry_days: int = Field(default=14, ge=0,
                                 description="Alert when kit stock expires within N days.")
    kit_low_strips: int = Field(default=20, ge=0, description="Alert below this many strips.")
    clock_offset_alert_s: float = Field(default=120, gt=0)
    disk_low_fraction: float = Field(default=0.1, ge=0, le=1)
    worker_silent_s: float = Field(
        default=30, gt=0,
        description="An ingest worker whose heartbeat is older is dead or cut off from the "
        "database (workers write every ingest.heartbeat_s).")
    ingest_stall_s: float = Field(
        default=120, gt=0,
        description="A worker holding a message unacknowledged this long is stalled.")
    worker_forget_s: float = Field(
        default=86400, gt=0,
        description="Ignore the rows of workers gone this long (renamed or scaled down).")
    kiosk_backlog_s: float = Field(
        default=600, gt=0,
        description="An online kiosk whose oldest unacknowledged record is older needs "
        "attention (the cloud is not acknowledging it).")


KeyText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
KeyIdText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16}$")]


class SigningSection(Section):
    """The cloud's signing key (``cloud_bridge.signing``) and a rotation in progress."""

    key_file: Path | None = Field(
        default=None,
        description="PKCS#8 PEM file of the cloud's Ed25519 signing key, mode 0600 (`nongan "
        "bridge signing-key new`). Required by the ingest workers: kiosks act on no unsigned "
        "ack, roster or command.",
    )
    previous_key_file: Path | None = Field(
        default=None,
        description="Rotation: the outgoing key. It signs the key set kiosks receive, so one "
        "that trusts only the old key learns the new one.",
    )
    next_keys: list[KeyText] = Field(
        default_factory=list, max_length=4,
        description="Rotation: public keys announced to every kiosk before the switch to them.",
    )
    retired_keys: list[KeyIdText] = Field(
        default_factory=list, max_length=32,
        description="Rotation: ids of keys every kiosk must stop trusting.",
    )


class RetentionSection(Section):
    days: int = Field(default=730, ge=180,
                      description="Keep records this long (law: 2 years; measures: 6 months; "
                      "at least the credit rule's 365-day window).")

    @field_validator("days")
    @classmethod
    def _at_least_the_rule_windows(cls, value: int) -> int:
        from cloud_bridge.domain.prune import check_retention  # the rule lives there

        return check_retention(value)


ChannelName = Literal["email", "webhook", "sms", "wecom"]


class SmtpSection(Section):
    """The mail server notifications go through (``notify.smtp``); no host: no e-mail."""

    host: str | None = Field(default=None, description="SMTP server; unset turns e-mail off.")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls (port 587), ssl (implicit TLS, port 465) or none (a relay on "
        "the same host only).",
    )
    username: str | None = Field(default=None, description="Log in when set.")
    password: str | None = None
    from_address: str = Field(default="nongan@localhost", description="The From: address.")
    ca_file: Path | None = Field(default=None,
                                 description="CA bundle for the server's certificate "
                                 "(default: the system's).")
    timeout_s: float = Field(default=20, gt=0, le=300,
                             description="Connect and each command's timeout.")


class WebhookSection(Section):
    """Signed webhooks (``notify.webhook``); no secret: no webhooks."""

    secret: str | None = Field(
        default=None, min_length=16,
        description="HMAC-SHA256 key shared with the receivers; unset turns webhooks off.")
    timeout_s: float = Field(default=10, gt=0, le=120)


class NotifySection(Section):
    """Notifications, their retries and escalations (``nongan bridge notify run``)."""

    poll_s: float = Field(default=5, gt=0, le=600,
                          description="How often the worker looks for due work.")
    batch_size: int = Field(default=20, ge=1, le=1000,
                            description="Notifications claimed per pass.")
    max_attempts: int = Field(default=10, ge=1, le=100,
                              description="Attempts before a notification is given up.")
    retry_initial_s: float = Field(default=30, gt=0,
                                   description="Wait after the first failure (then doubled).")
    retry_max_s: float = Field(default=3600, gt=0, description="Longest wait between attempts.")
    lease_s: float = Field(
        default=300, gt=0,
        description="A claimed notification is tried again after this long if the worker "
        "that claimed it died mid-send (longer than any send takes).")
    channels: list[ChannelName] = Field(
        default_factory=lambda: list[ChannelName](["email", "webhook"]),
        description="Channels notifications are made for; sms and wecom are log-only (no "
        "provider connected).")
    watch_positives: bool = Field(
        default=True, description="Notify (and escalate) every new positive reading.")
    escalation: dict[str, list[float]] = Field(
        default_factory=lambda: {"positive": [30.0]},
        description="Per alert kind: minutes after the alert at which routing levels 1, 2, "
        "... are told if nobody acknowledged it (level 0 is told at once).")
    smtp: SmtpSection = SmtpSection()
    webhook: WebhookSection = WebhookSection()

    @field_validator("escalation")
    @classmethod
    def _check_escalation(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for kind, minutes in value.items():
            if any(m <= 0 for m in minutes) or minutes != sorted(minutes):
                raise ValueError(f"{kind}: delays must be positive minutes, in rising order")
        return value


class BridgeSettings(EnvOverFileSettings):
    model_config = SettingsConfigDict(
        env_prefix="NONGAN_BRIDGE_", env_nested_delimiter="__", extra="forbid"
    )

    database: DatabaseSection = DatabaseSection()
    broker: BrokerSection = BrokerSection()
    ingest: IngestSection = IngestSection()
    api: ApiSection = ApiSection()
    dashboard: DashboardSection = DashboardSection()
    retention: RetentionSection = RetentionSection()
    signing: SigningSection = SigningSection()
    broker_admin: BrokerAdminSection | None = None
    notify: NotifySection = NotifySection()

    def cloud_accounts(self) -> list[str]:
        """Names that are the cloud's own at the broker: no kiosk may be enrolled as one
        (a kiosk's id is its broker username and client id)."""
        names = {"nongan-bridge", "nongan-admin", self.ingest.client_id, self.ingest.group}
        if self.broker.username:
            names.add(self.broker.username)
        if self.broker_admin is not None:
            names.update(self.broker_admin.cloud_users)
            if self.broker_admin.username:
                names.add(self.broker_admin.username)
        return sorted(names)


def load_settings(path: Path | None = None, **overrides: Any) -> BridgeSettings:
    """Read, merge and validate the bridge's settings.

    Args:
        path: the TOML file, or None to use only defaults, the environment and ``overrides``.
        overrides: section dictionaries that replace the file's (used by the demo and tests),
            e.g. ``database={"url": "sqlite:///x.db"}``.

    Raises:
        ConfigError: with one line naming the file and the first bad field.
    """
    return load_toml_settings(BridgeSettings, path, overrides)
