"""Bringing the broker in line with the database after a change, from the bridge's settings.

``provision`` writes the broker's files when the cloud runs on the broker's host
(``broker_admin.files_dir``), signals the broker to read them again (``pid_file``), and
applies the dynamic security roles through the control API, which takes effect at once: a
retired kiosk is disconnected and may subscribe to and publish nothing from then on, even
before its password file entry and certificate are gone.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cloud_bridge.errors import BrokerError
from cloud_bridge.settings import BridgeSettings

from . import files, sync
from .control import DynsecControl

log = logging.getLogger(__name__)


class NotConfigured(BrokerError):
    """The settings have no ``[broker_admin]`` section."""

    code = "broker_not_configured"
    translation_key = "error.broker_not_configured"


def accounts(settings: BridgeSettings, *, cloud_users: list[str] | None = None,
             admin_users: list[str] | None = None) -> files.Accounts:
    """The cloud's broker accounts from the settings (or as given on the command line)."""
    admin = settings.broker_admin
    if cloud_users is None:
        cloud_users = list(admin.cloud_users) if admin is not None else ["nongan-bridge"]
        if settings.broker.username and settings.broker.username not in cloud_users:
            cloud_users.append(settings.broker.username)
    if admin_users is None:
        admin_users = [admin.username] if admin is not None and admin.username else \
            ["nongan-admin"]
    return files.Accounts(tuple(cloud_users), tuple(admin_users), settings.ingest.group)


@dataclass
class Report:
    files: dict[str, str] = field(default_factory=dict)
    reloaded: bool = False
    plan: sync.Plan | None = None

    def summary(self) -> str:
        parts = [f"{name}: {what}" for name, what in self.files.items()]
        if self.reloaded:
            parts.append("broker reloaded")
        if self.plan is not None:
            p = self.plan
            parts.append(f"dynamic security: {len(p.created)} added, {len(p.removed)} removed, "
                         f"{len(p.corrected)} corrected")
        return "; ".join(parts) or "nothing to do"


def provision(settings: BridgeSettings, session: Session) -> Report:
    """Write the files (if they live here), reload the broker, sync the roles.

    Raises:
        NotConfigured: no ``[broker_admin]`` section.
        files.BrokerFilesError, control.ControlError, cloud_bridge.pki.PkiError: what failed.
    """
    admin = settings.broker_admin
    if admin is None:
        raise NotConfigured("no [broker_admin] section in the settings: run `nongan bridge "
                            "broker-files` and restart the broker instead")
    report = Report()
    who = accounts(settings)
    if admin.files_dir is not None:
        report.files = files.write(admin.files_dir, session, who, pki=admin.pki_dir)
        if admin.pid_file is not None:
            pid = int(admin.pid_file.read_text().strip())
            os.kill(pid, signal.SIGHUP)
            report.reloaded = True
    kiosks = files.read_kiosks(session, who)
    with DynsecControl(admin) as control:
        report.plan = sync.apply(control, files.want(kiosks, who))
    log.info("broker provisioned: %s", report.summary())
    return report
