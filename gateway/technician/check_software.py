"""Software checks: the version running, the releases installed, updates and their outcomes.

From the update status (``gateway.update.status``): which nongan runs and from which release,
what ``previous`` is (where a rollback goes), a release on trial, a release installed but not
switched to, and how the last software and firmware updates ended, with the reason when they
did not. The reader firmware's own version is in the devices area ("reader firmware").
"""

from __future__ import annotations

from typing import Any

from ..settings import GatewaySettings
from ..storage import KioskDatabase
from ..update.status import update_status
from .report import Check, Status

AREA = "software"


def software_checks(settings: GatewaySettings, db: KioskDatabase | None) -> list[Check]:
    """The software area of the doctor's report."""
    status = update_status(settings, db, history=0)
    return [_running(settings, status), *_pending(status), *_last(status)]


def _running(settings: GatewaySettings, s: dict[str, Any]) -> Check:
    running, current, previous = s["running"], s["current"], s["previous"]
    if current is None:
        detail = (f"{running}; not installed as releases under {s['root']}: updates cannot be "
                  "installed here")
        if settings.update.release_keys:
            return Check(AREA, "nongan", Status.WARNING, detail,
                         "make this installation the first release: nongan update adopt")
        return Check(AREA, "nongan", Status.OK, detail)
    if current != running:
        return Check(AREA, "nongan", Status.WARNING,
                     f"runs {running}, but 'current' points at {current}",
                     "restart the kiosk service (sudo systemctl restart nongan-kiosk)")
    keys = len(settings.update.release_keys)
    detail = (f"{running} (release {current}; previous {previous or 'none'}); "
              f"{keys} release key(s) trusted")
    if keys == 0:
        return Check(AREA, "nongan", Status.WARNING, detail + ": no bundle can be installed",
                     "add the release public key to update.release_keys")
    return Check(AREA, "nongan", Status.OK, detail)


def _pending(s: dict[str, Any]) -> list[Check]:
    checks = []
    trial = s["trial"]
    if trial is not None:
        checks.append(Check(AREA, "release on trial", Status.WARNING,
                            f"{trial['version']} since {trial['started_at'][:19]} (attempt "
                            f"{trial['attempts']}): the guard keeps it or goes back to "
                            f"{trial['from_version']} by itself",
                            "wait for the guard (nongan update status)"))
    staged = [v for v in s["installed"] if v not in (s["current"], s["previous"])
              and (trial is None or v != trial["version"])]
    if staged:
        checks.append(Check(AREA, "staged release", Status.OK,
                            f"{', '.join(staged)} installed, not switched to"))
    for entry in s["open"]:
        if trial is not None and entry["update_id"] == trial["update_id"]:
            continue
        checks.append(Check(AREA, f"update {entry['update_id']}", Status.WARNING,
                            f"{entry['version']} {entry['state']} since {entry['at'][:19]}: "
                            f"{entry['reason'] or 'in progress'}",
                            "it goes on by itself; if it stays, apply the update again"))
    return checks


def _last(s: dict[str, Any]) -> list[Check]:
    checks = []
    software = s["last"]["software"]
    if software is None:
        checks.append(Check(AREA, "last update", Status.OK, "none recorded"))
    else:
        state = software["state"]
        text = (f"{software['version']} {state.replace('_', ' ')} at {software['at'][:19]}"
                f"{' (from ' + software['from_version'] + ')' if software['from_version'] else ''}"
                f": {software['reason']}")
        if state == "healthy":
            checks.append(Check(AREA, "last update", Status.OK, text))
        else:
            fix = {"rolled_back": f"the kiosk runs {software['from_version']} again; the "
                                  "release needs fixing before it is sent again",
                   "refused": "nothing was changed; send a bundle this kiosk accepts",
                   "failed": "nothing was switched; apply the update again"}.get(state, "")
            checks.append(Check(AREA, "last update", Status.WARNING, text, fix))
    firmware = s["last"]["firmware"]
    if firmware is not None:
        state = firmware["state"]
        text = (f"firmware {firmware['version']} {state} at {firmware['at'][:19]}: "
                f"{firmware['reason']}")
        status = {"flashed": Status.OK, "restored": Status.WARNING,
                  "refused": Status.WARNING}.get(state, Status.FAULT)
        fix = "" if status is Status.OK else (
            "the board runs its previous firmware; the firmware needs fixing"
            if state == "restored" else
            "nothing was changed" if state == "refused" else
            "stop the kiosk service and deploy by hand: nongan firmware deploy --port PORT")
        checks.append(Check(AREA, "last firmware update", status, text, fix))
    return checks
