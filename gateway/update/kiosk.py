"""Building the updater, the guard and the firmware updater from a kiosk's settings.

The command handlers (to come) and the ``nongan update`` commands call these; tests build the
parts directly when they need other seams.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..settings import GatewaySettings
from ..storage import KioskDatabase
from .download import Downloader, DownloadPolicy
from .guard import Guard, GuardPolicy, selfcheck_process
from .idle import AlwaysIdle, SessionIdle
from .install import Installer
from .journal import UpdateJournal
from .layout import ReleaseLayout
from .manifest import ReleaseTrust
from .service import ServiceControl
from .trial import trial_path
from .updater import UpdatePolicy, Updater
from .version import software_version


def layout_of(settings: GatewaySettings) -> ReleaseLayout:
    return ReleaseLayout(settings.update.root)


def trust_of(settings: GatewaySettings) -> ReleaseTrust:
    return ReleaseTrust(settings.update.release_keys)


def build_updater(settings: GatewaySettings, db: KioskDatabase, *,
                  idle: SessionIdle | None = None, running_version: str | None = None
                  ) -> Updater:
    """The updater of a kiosk (``idle``: the session's seam; default: always idle)."""
    up = settings.update
    policy = DownloadPolicy(max_bytes=int(up.max_bundle_mb * 1024 * 1024),
                            allow_http=up.allow_http)
    return Updater(
        layout=layout_of(settings), journal=UpdateJournal(db), trust=trust_of(settings),
        downloader=Downloader(policy, verify=str(up.ca_file) if up.ca_file else True),
        installer=Installer(python=sys.executable, host_site_packages=up.host_site_packages),
        service=ServiceControl(list(up.systemctl)), idle=idle or AlwaysIdle(),
        data_dir=settings.device.data_dir,
        running_version=running_version or software_version(),
        policy=UpdatePolicy(quiet_s=up.quiet_s, idle_timeout_s=up.idle_timeout_s,
                            guard_unit=up.guard_unit))


def build_guard(settings: GatewaySettings, db: KioskDatabase, config: Path) -> Guard:
    """The guard of a kiosk; ``config`` is the settings file the self-check reads."""
    up = settings.update
    layout = layout_of(settings)
    return Guard(layout=layout, journal=UpdateJournal(db),
                 service=ServiceControl(list(up.systemctl)),
                 trial_file=trial_path(settings.device.data_dir),
                 selfcheck=selfcheck_process(layout, config),
                 policy=GuardPolicy(health_timeout_s=up.health_timeout_s, settle_s=up.settle_s,
                                    max_attempts=up.max_attempts, kiosk_unit=up.kiosk_unit))
