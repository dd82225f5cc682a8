"""Reader firmware over the air: the real mpremote flashes the firmware on MicroPython.

The board is ``hardware/firmware/sim/board.py --flash`` on a pseudo-terminal: it boots the
firmware from its own file system and speaks the REPL mpremote drives (interrupt, raw REPL,
raw paste, soft reset, machine.reset), so the flasher's real transfer copies files onto it,
resets it, and the host driver shakes hands with what then boots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device_drivers.firmware_flash import FirmwareFlasher, MpremoteTransfer
from device_drivers.firmware_tools import FirmwareError, repository_version
from gateway.storage import KioskDatabase
from gateway.update.errors import BundleRefused
from gateway.update.firmware import FirmwareUpdater
from gateway.update.journal import Kind, State, UpdateJournal
from gateway.update.manifest import ReleaseTrust
from gateway.update.release import build_bundle
from protocol import generate_private_key, public_key_text
from tests.gateway.update.test_bundle import _members, _rewrite, tiny_wheel
from tests.hardware.firmware_harness import FIRMWARE_DIR, MicroPythonBoard

SHIPPED = repository_version(FIRMWARE_DIR)
VERIFY_S = 8.0  # how long a flashed board may take to say hello (then it is given up on)


def firmware_copy(into: Path, version: str, *, broken: bool = False) -> Path:
    shutil.copytree(FIRMWARE_DIR, into, ignore=shutil.ignore_patterns("__pycache__", "sim"))
    (into / "app" / "version.py").write_text(f'VERSION = "{version}"\nPROTOCOL = 1\n')
    if broken:  # imports fail on the board: main.py prints the error and resets, forever
        (into / "app" / "__init__.py").write_text('raise ImportError("broken build")\n')
    return into


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[UpdateJournal]:
    db = KioskDatabase(tmp_path / "kiosk.db")
    yield UpdateJournal(db)
    db.close()


def _bundle(tmp_path: Path, key: Ed25519PrivateKey, firmware: Path | None, name: str) -> Path:
    return build_bundle(wheel=tiny_wheel(tmp_path / f"w-{name}", "0.2.0"), key=key,
                        out_dir=tmp_path / f"dist-{name}", kits_dir=None,
                        firmware_dir=firmware).path


def _updater(journal: UpdateJournal, key: Ed25519PrivateKey) -> FirmwareUpdater:
    return FirmwareUpdater(journal, ReleaseTrust([public_key_text(key)]),
                           flasher=lambda port: FirmwareFlasher(port, verify_timeout_s=VERIFY_S))


def _board_version(board: MicroPythonBoard) -> str:
    return (board.files / "app" / "version.py").read_text().split('"')[1]


def test_a_new_firmware_is_flashed_and_answers(tmp_path: Path, key: Ed25519PrivateKey,
                                               journal: UpdateJournal) -> None:
    bundle = _bundle(tmp_path, key, firmware_copy(tmp_path / "fw", "1.1.0"), "new")
    with MicroPythonBoard(flash=FIRMWARE_DIR) as board:
        boots = board.boots
        outcome = _updater(journal, key).flash(bundle, port=board.path, update_id="fw-1")
        assert (outcome.state, outcome.previous, outcome.running) == ("flashed", SHIPPED,
                                                                     "1.1.0")
        assert _board_version(board) == "1.1.0" and board.boots > boots
        assert not (board.files / "sim").exists(), "the simulator never goes on a board"
        # Again: the board runs it already, nothing is copied.
        again = _updater(journal, key).flash(bundle, port=board.path, update_id="fw-2")
        assert again.state == "unchanged"
    assert [e.state for e in reversed(journal.history("fw-1"))] == [State.VERIFIED,
                                                                    State.FLASHED]
    flashed = journal.last("fw-1")
    assert flashed is not None and flashed.from_version == SHIPPED
    last = journal.last_outcome(Kind.FIRMWARE)
    assert last is not None and last.update_id == "fw-2" and "already runs" in last.reason


def test_a_firmware_that_does_not_come_back_is_replaced_by_the_old_one(
        tmp_path: Path, key: Ed25519PrivateKey, journal: UpdateJournal) -> None:
    bundle = _bundle(tmp_path, key, firmware_copy(tmp_path / "fw", "1.2.0", broken=True),
                     "broken")
    with MicroPythonBoard(flash=FIRMWARE_DIR) as board:
        outcome = _updater(journal, key).flash(bundle, port=board.path, update_id="fw-1")
        assert outcome.state == "restored", outcome.reason
        assert outcome.running == SHIPPED and _board_version(board) == SHIPPED
        assert "did not come back with the new firmware" in outcome.reason
        assert "broken build" not in (board.files / "app" / "__init__.py").read_text()
    last = journal.last("fw-1")
    assert last is not None and last.state is State.RESTORED
    assert last.detail["running"] == SHIPPED


def test_a_copy_that_fails_half_way_is_undone(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    class FailingOnce(MpremoteTransfer):
        failed = False

        def install(self, source: Path) -> None:
            if not FailingOnce.failed:
                FailingOnce.failed = True
                # Half the files are on the board when the cable is pulled.
                self._mp("fs", "cp", "main.py", ":", cwd=source, step="copy")
                raise FirmwareError("mpremote failed at the copy step: device disconnected")
            super().install(source)

    new = firmware_copy(tmp_path / "fw", "1.1.0")
    with MicroPythonBoard(flash=FIRMWARE_DIR) as board:
        flasher = FirmwareFlasher(board.path, FailingOnce(board.path), verify_timeout_s=VERIFY_S)
        outcome = flasher.flash(new, "1.1.0")
        assert outcome.state == "restored" and "device disconnected" in outcome.reason
        assert _board_version(board) == SHIPPED


def test_no_flash_without_a_way_back(tmp_path: Path) -> None:
    """A board whose firmware files cannot be read is left as it is."""
    empty = tmp_path / "empty"  # a board that sits in its REPL: no main.py, no app/
    (empty / "boards").mkdir(parents=True)
    shutil.copy2(FIRMWARE_DIR / "boards" / "rev_a.py", empty / "boards" / "rev_a.py")
    with MicroPythonBoard(flash=empty, serving=False) as board:
        with pytest.raises(FirmwareError, match="no firmware to keep"):
            FirmwareFlasher(board.path, verify_timeout_s=2.0).flash(
                firmware_copy(tmp_path / "fw", "1.1.0"), "1.1.0")
        assert not (board.files / "main.py").exists()


def test_bundles_the_kiosk_must_not_flash_are_refused_untouched(
        tmp_path: Path, key: Ed25519PrivateKey, journal: UpdateJournal) -> None:
    good = _bundle(tmp_path, key, firmware_copy(tmp_path / "fw", "1.1.0"), "good")
    members = _members(good)
    members["data/firmware/app/controller.py"] += b"\n# changed\n"
    tampered = _rewrite(good, members, tmp_path / "tampered.tar")
    no_firmware = _bundle(tmp_path, key, None, "none")
    updater = _updater(journal, key)
    with MicroPythonBoard(flash=FIRMWARE_DIR) as board:
        boots = board.boots
        with pytest.raises(BundleRefused, match=r"controller.py has .* bytes"):
            updater.flash(tampered, port=board.path, update_id="fw-1")
        with pytest.raises(BundleRefused, match="carries no firmware"):
            updater.flash(no_firmware, port=board.path, update_id="fw-2")
        with pytest.raises(BundleRefused, match="no board file for rev_z"):
            updater.flash(good, port=board.path, board="rev_z", update_id="fw-3")
        assert board.boots == boots and _board_version(board) == SHIPPED
    assert [journal.last(u).state for u in ("fw-1", "fw-2", "fw-3")] == [  # type: ignore[union-attr]
        State.REFUSED] * 3
