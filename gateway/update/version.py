"""What this installation runs: nongan's version and the reader firmware it ships.

A release installed from a bundle keeps its firmware beside its environment
(``releases/<version>/data/firmware``, see ``layout``); a development checkout has it in
``hardware/firmware``. Either way the doctor and the self-check compare the board with it.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from device_drivers.firmware_tools import DEFAULT_FIRMWARE_DIR, FirmwareError, repository_version


def software_version() -> str:
    """nongan's installed version ("0+unknown" when running from a bare checkout)."""
    try:
        return version("nongan")
    except PackageNotFoundError:
        return "0+unknown"


def release_data_dir(prefix: Path | None = None) -> Path:
    """The data folder of the release this interpreter runs from (it may not exist)."""
    return Path(prefix or sys.prefix).parent / "data"


def shipped_firmware_dir(prefix: Path | None = None) -> Path | None:
    """The firmware this installation ships: the release's, else the checkout's, else None."""
    for candidate in (release_data_dir(prefix) / "firmware", DEFAULT_FIRMWARE_DIR):
        if (candidate / "app" / "version.py").is_file():
            return candidate
    return None


def firmware_expected(prefix: Path | None = None) -> str | None:
    """The reader firmware version this installation ships, if it ships one."""
    folder = shipped_firmware_dir(prefix)
    if folder is None:
        return None
    try:
        return repository_version(folder)
    except FirmwareError:
        return None
