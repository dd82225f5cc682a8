"""Kiosk software and reader firmware updates: signed bundles, A/B releases, rollback.

- ``release``: build a signed bundle on the release machine (``nongan release build``);
- ``bundle``/``manifest``: the bundle format, its signature and its checks;
- ``updater.Updater.apply(url, manifest_sha256)``: download (resuming), verify, install beside
  the running release, wait until nobody uses the kiosk, switch, hand over to the guard;
- ``guard.Guard``: the new release must pass its self-check (``selfcheck``) and run, within a
  time limit, or the kiosk goes back to the previous release by itself;
- ``firmware.FirmwareUpdater.flash(bundle)``: the reader's firmware, restored if the board
  does not come back;
- ``journal``: every step, readable by ``nongan doctor`` and ``nongan update status``.

The command handlers that will drive these from signed cloud commands are not here yet.
"""

from .bundle import VerifiedBundle, verify_bundle
from .errors import BundleRefused, DownloadError, InstallError, UpdateError
from .firmware import FirmwareUpdater
from .guard import Guard, GuardOutcome, GuardPolicy
from .idle import AlwaysIdle, KioskSessionIdle, SessionIdle
from .journal import Entry, Kind, State, UpdateJournal
from .layout import ReleaseLayout
from .manifest import Manifest, ReleaseTrust
from .updater import UpdateOutcome, UpdatePolicy, Updater

__all__ = [
    "AlwaysIdle",
    "BundleRefused",
    "DownloadError",
    "Entry",
    "FirmwareUpdater",
    "Guard",
    "GuardOutcome",
    "GuardPolicy",
    "InstallError",
    "Kind",
    "KioskSessionIdle",
    "Manifest",
    "ReleaseLayout",
    "ReleaseTrust",
    "SessionIdle",
    "State",
    "UpdateError",
    "UpdateJournal",
    "UpdateOutcome",
    "UpdatePolicy",
    "Updater",
    "VerifiedBundle",
    "verify_bundle",
]
