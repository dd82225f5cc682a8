"""Reader firmware over the air: the firmware of a signed bundle onto the reader board.

``FirmwareUpdater.flash(bundle)`` checks the bundle (signature, files, and that the firmware
says the version the manifest says), then hands the firmware folder to
``device_drivers.firmware_flash.FirmwareFlasher``, which keeps a copy of the board's files,
flashes, checks the board's hello and version, and puts the old files back if the board does
not come back. Every step is in the update journal (kind ``firmware``).

The caller releases the reader's serial port first (the running kiosk closes its reader
driver while it flashes) and only when the kiosk is idle.
"""

from __future__ import annotations

import ast
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from device_drivers import DeviceError
from device_drivers.firmware_flash import FirmwareFlasher, FlashOutcome

from .bundle import verify_bundle
from .errors import BundleRefused
from .journal import Kind, State, UpdateJournal
from .manifest import FileKind, ReleaseTrust

STATES = {"flashed": State.FLASHED, "unchanged": State.FLASHED, "restored": State.RESTORED,
          "failed": State.FAILED}


class FirmwareUpdater:
    """Flashes the reader from signed bundles.

    Args:
        journal: the update journal.
        trust: the release keys this kiosk trusts.
        flasher: builds the flasher for a port (``FirmwareFlasher`` with mpremote by default).
    """

    def __init__(self, journal: UpdateJournal, trust: ReleaseTrust, *,
                 flasher: Callable[[str], FirmwareFlasher] = FirmwareFlasher) -> None:
        self.journal = journal
        self.trust = trust
        self.flasher = flasher

    def flash(self, bundle_path: Path, *, port: str, board: str = "rev_a",
              expected_manifest_sha256: str | None = None, update_id: str | None = None,
              force: bool = False) -> FlashOutcome:
        """Flash the firmware of ``bundle_path`` onto the board on ``port``.

        Raises:
            BundleRefused: the bundle is not trustworthy, carries no firmware, or not for this
                board revision (journalled; the board was not touched).
        """
        update_id = update_id or f"fw-{uuid.uuid4().hex[:16]}"
        try:
            bundle = verify_bundle(bundle_path, self.trust,
                                   expected_manifest_sha256=expected_manifest_sha256)
            info = bundle.manifest.firmware
            if info is None:
                raise BundleRefused(f"release {bundle.manifest.version} carries no firmware")
            if board not in info.boards:
                raise BundleRefused(f"firmware {info.version} has no board file for {board} "
                                    f"(it has {', '.join(info.boards)})")
        except BundleRefused as exc:
            self.journal.record(update_id, Kind.FIRMWARE, State.REFUSED, version="?",
                                reason=exc.reason, detail={"port": port})
            raise
        self.journal.record(update_id, Kind.FIRMWARE, State.VERIFIED, version=info.version,
                            reason=f"release {bundle.manifest.version}, signed by "
                                   f"{bundle.manifest.key_id}", detail={"port": port})
        with tempfile.TemporaryDirectory(prefix="nongan-fw-bundle-") as tmp:
            bundle.extract(Path(tmp), kinds={FileKind.FIRMWARE.value})
            folder = Path(tmp) / "data" / "firmware"
            said = _firmware_version(folder)
            if said != info.version:
                reason = (f"the bundle's firmware says {said!r}, its manifest {info.version}: "
                          "not flashed")
                self.journal.record(update_id, Kind.FIRMWARE, State.FAILED,
                                    version=info.version, reason=reason)
                return FlashOutcome("failed", None, None, info.version, reason)
            try:
                outcome = self.flasher(port).flash(folder, info.version, board=board,
                                                   force=force)
            except DeviceError as exc:  # before anything changed on the board
                reason = f"not flashed: {exc}"
                self.journal.record(update_id, Kind.FIRMWARE, State.FAILED,
                                    version=info.version, reason=reason)
                return FlashOutcome("failed", None, None, info.version, reason)
        self.journal.record(update_id, Kind.FIRMWARE, STATES[outcome.state],
                            version=info.version, from_version=outcome.previous,
                            reason=outcome.reason,
                            detail={"port": port, "running": outcome.running,
                                    "outcome": outcome.state})
        return outcome


def _firmware_version(folder: Path) -> str | None:
    try:
        tree = ast.parse((folder / "app" / "version.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "VERSION"
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    return None
