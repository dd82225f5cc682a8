"""The kiosk's software update, from a bundle URL to a switched release (``Updater.apply``).

What a signed command will drive (the command itself is not built here): ::

    outcome = await updater.apply(bundle_url, expected_manifest_sha256)

1. **download** the bundle, resuming what an earlier attempt left (``download``);
2. **verify** it: the manifest is the one the command named, signed by a trusted release
   key, every file matches; and the version rules: newer than the running release, the
   running release within the bundle's compatible range, this Python supported;
3. **stage** it: install it as a new release beside the running one (``install``);
4. **wait** until nobody is using the kiosk (``idle``);
5. **switch**: write the trial marker, point ``current`` at the new release and ``previous``
   at the running one, and start the guard unit, which stops this very process, checks the
   new release and keeps it or goes back (``guard``).

Every step is in the journal. A refused or failed update changes nothing but the journal (and
keeps a partial download, for the next attempt to resume). The outcome is ``switched`` when
the guard has taken over; its verdict (``healthy`` or ``rolled_back``) lands in the journal,
where the new release — or the old one, back again — reads it at start to report it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import platform
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from .bundle import VerifiedBundle, verify_bundle
from .download import Downloader
from .errors import BundleRefused, DownloadError, InstallError, UpdateError
from .idle import SessionIdle, wait_until_idle
from .install import Installer
from .journal import Kind, State, UpdateJournal
from .layout import LayoutError, ReleaseLayout
from .manifest import Manifest, ReleaseTrust
from .service import ServiceControl, ServiceError
from .trial import Trial, trial_path

log = logging.getLogger(__name__)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class UpdateOutcome:
    """How far ``apply`` got.

    Attributes:
        update_id: the update in the journal.
        state: ``switched`` (the guard checks the new release now), ``refused`` (the
            bundle must not be installed), ``failed`` (try again later: download, install,
            never idle) or ``rolled_back`` (the guard could not even be started).
        version: the bundle's version, when known.
        reason: in words.
    """

    update_id: str
    state: State
    version: str | None
    reason: str


@dataclass(frozen=True)
class UpdatePolicy:
    quiet_s: float = 60.0
    idle_timeout_s: float = 6 * 3600.0
    idle_poll_s: float = 1.0
    guard_unit: str = "nongan-update-guard.service"


class Updater:
    """Applies software updates on a kiosk (see the module docstring).

    Args:
        layout: the releases (``update.root``).
        journal: the update journal.
        trust: the release keys this kiosk trusts.
        downloader: fetches bundles.
        installer: makes release environments.
        service: systemd (starts the guard).
        idle: whether the kiosk is in use.
        data_dir: the kiosk's data folder (downloads and the trial marker go under
            ``updates/``).
        running_version: the version of this process (``version.software_version()``).
        policy: quiet period, idle time limit, the guard's unit.
    """

    def __init__(self, *, layout: ReleaseLayout, journal: UpdateJournal, trust: ReleaseTrust,
                 downloader: Downloader, installer: Installer, service: ServiceControl,
                 idle: SessionIdle, data_dir: Path, running_version: str,
                 policy: UpdatePolicy | None = None) -> None:
        self.layout = layout
        self.journal = journal
        self.trust = trust
        self.downloader = downloader
        self.installer = installer
        self.service = service
        self.idle = idle
        self.work = data_dir / "updates"
        self.trial_file = trial_path(data_dir)
        self.running = running_version
        self.policy = policy or UpdatePolicy()

    # ------------------------------------------------------------------ the rules

    def check_version(self, manifest: Manifest, expected_version: str | None = None) -> None:
        """The version rules; raises BundleRefused with the reason."""
        if expected_version is not None and manifest.version != expected_version:
            raise BundleRefused(f"the bundle is version {manifest.version}, the command asked "
                                f"for {expected_version}")
        try:
            running = Version(self.running)
        except InvalidVersion as exc:
            raise BundleRefused(f"this kiosk's version {self.running!r} cannot be compared: "
                                "install by hand") from exc
        new = Version(manifest.version)
        if new == running:
            raise BundleRefused(f"this kiosk already runs {manifest.version}")
        if new < running:
            raise BundleRefused(f"{manifest.version} is older than the running "
                                f"{self.running}: going back is a rollback "
                                "(nongan update rollback), not an update")
        if not manifest.accepts_upgrade_from(self.running):
            raise BundleRefused(f"{manifest.version} may replace only {manifest.min_compatible}"
                                f" to {manifest.max_compatible}, and this kiosk runs "
                                f"{self.running}: install the release in between first")
        here = platform.python_version()
        if not SpecifierSet(manifest.requires_python).contains(here):
            raise BundleRefused(f"{manifest.version} needs Python "
                                f"{manifest.requires_python}, this kiosk has {here}")

    def _check_layout(self) -> None:
        current = self.layout.current()
        if current is None:
            raise BundleRefused(f"this kiosk is not installed as releases under "
                                f"{self.layout.root} (no 'current' link): adopt the "
                                "installation first (nongan update adopt)")
        if current != self.running:
            raise BundleRefused(f"'current' points at {current} but this kiosk runs "
                                f"{self.running}: restart the kiosk service first")
        if Trial.load(self.trial_file) is not None:
            raise BundleRefused("the previous update is still being checked")

    # ------------------------------------------------------------------ apply

    async def apply(self, bundle_url: str, expected_manifest_sha256: str, *,
                    update_id: str | None = None, expected_version: str | None = None,
                    expected_size: int | None = None) -> UpdateOutcome:
        """Download, verify, stage, wait for idle, switch (see the module docstring)."""
        update_id = update_id or f"sw-{uuid.uuid4().hex[:16]}"
        sha = expected_manifest_sha256.lower()
        version_hint = expected_version or "?"
        if not SHA256_HEX.match(sha):  # it names a file under updates/downloads
            reason = f"{expected_manifest_sha256!r} is not a SHA-256 (64 hex digits)"
            self.journal.record(update_id, Kind.SOFTWARE, State.REFUSED, version=version_hint,
                                from_version=self.running, reason=reason)
            return UpdateOutcome(update_id, State.REFUSED, expected_version, reason)
        try:
            with self._lock():
                return await self._apply(update_id, bundle_url, sha, expected_version,
                                         expected_size)
        except _Busy:
            reason = "another update is in progress on this kiosk"
            self.journal.record(update_id, Kind.SOFTWARE, State.FAILED, version=version_hint,
                                from_version=self.running, reason=reason)
            return UpdateOutcome(update_id, State.FAILED, expected_version, reason)

    async def _apply(self, update_id: str, url: str, sha: str, expected_version: str | None,
                     expected_size: int | None) -> UpdateOutcome:
        version = expected_version or "?"
        try:
            self._check_layout()
        except BundleRefused as exc:
            return self._end(update_id, State.REFUSED, version, exc.reason)
        self.journal.record(update_id, Kind.SOFTWARE, State.DOWNLOADING, version=version,
                            from_version=self.running, detail={"url": url,
                                                               "manifest_sha256": sha})
        dest = self.work / "downloads" / f"{sha}.bundle.tar"
        try:
            result = await asyncio.to_thread(self.downloader.fetch, url, dest,
                                             expected_size=expected_size)
        except DownloadError as exc:
            if not exc.retryable:
                self.downloader.forget(dest)
            return self._end(update_id, State.FAILED, version, exc.reason)
        try:
            bundle = await asyncio.to_thread(verify_bundle, dest, self.trust,
                                             expected_manifest_sha256=sha)
            version = bundle.manifest.version
            self.check_version(bundle.manifest, expected_version)
        except BundleRefused as exc:
            self.downloader.forget(dest)
            return self._end(update_id, State.REFUSED, version, exc.reason)
        self.journal.record(update_id, Kind.SOFTWARE, State.DOWNLOADED, version=version,
                            from_version=self.running,
                            reason=f"{result.size} bytes, signed by release key "
                                   f"{bundle.manifest.key_id}",
                            detail={"resumed_from": result.resumed_from,
                                    "attempts": result.attempts})
        try:
            await asyncio.to_thread(self._stage, bundle)
        except (InstallError, LayoutError, OSError) as exc:
            reason = exc.reason if isinstance(exc, UpdateError) else str(exc)
            return self._end(update_id, State.FAILED, version, f"installing failed: {reason}")
        except BundleRefused as exc:
            self.downloader.forget(dest)
            return self._end(update_id, State.FAILED, version, exc.reason)
        self.journal.record(update_id, Kind.SOFTWARE, State.STAGED, version=version,
                            from_version=self.running,
                            reason=f"installed in {self.layout.release_dir(version)}; waiting "
                                   "until nobody uses the kiosk")
        idle = await wait_until_idle(self.idle, quiet_s=self.policy.quiet_s,
                                     timeout_s=self.policy.idle_timeout_s,
                                     poll_s=self.policy.idle_poll_s)
        if not idle:
            return self._end(update_id, State.FAILED, version,
                             f"the kiosk was never idle for {self.policy.quiet_s:.0f} s within "
                             f"{self.policy.idle_timeout_s / 3600:.1f} h; the release stays "
                             "installed and the bundle downloaded: apply again")
        outcome = await asyncio.to_thread(self._switch, update_id, version)
        if outcome.state is State.SWITCHED:
            self.downloader.forget(dest)
        return outcome

    def _stage(self, bundle: VerifiedBundle) -> None:
        version = bundle.manifest.version
        if version in self.layout.installed():
            # Staged by an earlier attempt (which then found the kiosk never idle): keep it
            # if it still starts and says its version.
            try:
                self.installer.smoke_test(self.layout.venv(version) / "bin" / "python", version)
                return
            except InstallError as exc:
                log.warning("reinstalling the staged release %s: %s", version, exc.reason)
        staging = self.layout.staging_dir(version)
        try:
            self.installer.install(bundle, staging)
            self.layout.commit_staging(version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _switch(self, update_id: str, version: str) -> UpdateOutcome:
        previous_before = self.layout.previous()
        trial = Trial(update_id=update_id, version=version, from_version=self.running,
                      restore_previous=previous_before,
                      started_at=datetime.now(UTC).isoformat())
        trial.save(self.trial_file)
        self.journal.record(update_id, Kind.SOFTWARE, State.SWITCHED, version=version,
                            from_version=self.running,
                            reason=f"current -> {version}, previous -> {self.running}; the "
                                   "guard checks the new release")
        self.layout.switch_to(version, previous=self.running)
        try:
            self.service.start(self.policy.guard_unit, no_block=True)
        except ServiceError as exc:
            # Nobody would check the new release: go back now, while this process still runs
            # the old one.
            self.layout.switch_to(self.running, previous=previous_before)
            self.trial_file.unlink(missing_ok=True)
            reason = f"the update guard could not be started ({exc.reason}): switched back"
            self.journal.record(update_id, Kind.SOFTWARE, State.ROLLED_BACK, version=version,
                                from_version=self.running, reason=reason)
            return UpdateOutcome(update_id, State.ROLLED_BACK, version, reason)
        return UpdateOutcome(update_id, State.SWITCHED, version,
                             "switched; the guard checks the new release")

    def _end(self, update_id: str, state: State, version: str, reason: str) -> UpdateOutcome:
        log.warning("update %s %s: %s", update_id, state.value, reason)
        self.journal.record(update_id, Kind.SOFTWARE, state, version=version,
                            from_version=self.running, reason=reason)
        return UpdateOutcome(update_id, state, None if version == "?" else version, reason)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.work.mkdir(parents=True, exist_ok=True)
        with (self.work / "lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise _Busy from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class _Busy(Exception):
    pass
