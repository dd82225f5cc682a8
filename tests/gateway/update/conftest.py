"""Fixtures for update tests: a release key, wheels built from this checkout, a kiosk whose
releases live in a temporary folder."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.settings import GatewaySettings
from gateway.storage import KioskDatabase
from gateway.update.journal import UpdateJournal
from gateway.update.layout import ReleaseLayout
from protocol import generate_private_key, public_key_text
from tests.gateway.update.releases import REPO, FakeSystemd, WheelFactory
from tests.technician.conftest import settings_file


@pytest.fixture(scope="session")
def release_key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> WheelFactory:
    return WheelFactory(tmp_path_factory.mktemp("wheels"))


@dataclass
class Kiosk:
    """A kiosk's settings file, data folder, releases and fake systemd."""

    config: Path
    settings: GatewaySettings
    db: KioskDatabase
    layout: ReleaseLayout
    systemd: FakeSystemd

    @property
    def journal(self) -> UpdateJournal:
        return UpdateJournal(self.db)

    @property
    def data_dir(self) -> Path:
        return self.settings.device.data_dir


def make_kiosk(tmp_path: Path, key: Ed25519PrivateKey, *, broker_url: str = "mqtt://127.0.0.1:1",
               adopt: str | None = "0.1.0", **update: Any) -> Kiosk:
    """A kiosk with simulated devices; its first release (``adopt``) is this checkout."""
    root = tmp_path / "opt"
    data_dir = tmp_path / "kiosk"
    systemd = FakeSystemd(tmp_path / "systemd", {})
    config, settings = settings_file(
        tmp_path, broker_url=broker_url,
        update={"root": str(root), "release_keys": [public_key_text(key)],
                "host_site_packages": sysconfig.get_paths()["purelib"], "allow_http": True,
                "systemctl": systemd.command, "health_timeout_s": 180.0, "settle_s": 0.0,
                "quiet_s": 0.0, "require_link": False, **update})
    systemd.paths = {"/opt/nongan": str(root), "/etc/nongan/gateway.toml": str(config),
                     "/var/lib/nongan": str(data_dir)}
    layout = ReleaseLayout(root)
    if adopt is not None:
        layout.adopt(adopt, REPO)
    return Kiosk(config, settings, KioskDatabase(data_dir / "kiosk.db"), layout, systemd)


@pytest.fixture
def kiosk(tmp_path: Path, release_key: Ed25519PrivateKey) -> Iterator[Kiosk]:
    k = make_kiosk(tmp_path, release_key)
    yield k
    k.db.close()
