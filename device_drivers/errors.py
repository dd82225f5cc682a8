"""Errors raised by the device drivers, split by what a person can do about them.

- :class:`DeviceAbsent`: a configured device is not there (unplugged, wrong path, library
  missing). Fix the configuration or the cable; never answered by falling back to simulation.
- :class:`DeviceFault`: the device is there but misbehaves (black frames, board fault, printer
  out of paper). Usually needs a person at the kiosk.
- :class:`DeviceTimeout`: the device did not answer in time; retrying later may work.

Every error carries ``fix``: one sentence in plain words saying what to do, shown by the
technician tools and logged with the detail.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every device error.

    Args:
        message: what went wrong, with the device and the detail.
        fix: what a person should do about it, in plain words.
    """

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} — {self.fix}" if self.fix else base


class DeviceAbsent(DeviceError):
    """A configured real device (or the library it needs) cannot be found."""


class DeviceFault(DeviceError):
    """The device is present but reports or shows a fault."""


class DeviceTimeout(DeviceError):
    """The device did not answer within its time limit."""


# Camera -------------------------------------------------------------------------------------


class CameraError(DeviceFault):
    """The camera delivered no usable frame (black, wrong size, stopped mid-burst)."""


class CameraSettingsError(DeviceFault):
    """The camera refused fixed exposure, gain or white balance (needed for quantitative use)."""


# Reader controller --------------------------------------------------------------------------


class ReaderError(DeviceFault):
    """The reader controller answered with an error (bad request, fault, jammed tray)."""

    def __init__(self, message: str, *, code: str = "", fix: str = "") -> None:
        super().__init__(message, fix=fix)
        self.code = code


class ReaderReset(DeviceFault):
    """The board reset while a command was in flight (its hello line arrived instead).

    ``info`` holds the new boot's hello fields (a ``FirmwareInfo``) when known.
    """

    def __init__(self, message: str, *, fix: str = "", info: object = None) -> None:
        super().__init__(message, fix=fix)
        self.info = info


class ProtocolMismatch(DeviceFault):
    """The board's firmware speaks another protocol version than this host."""


# Printer ------------------------------------------------------------------------------------


class PrinterOutOfPaper(DeviceFault):
    """The printer reports its paper roll empty."""


class PrinterOffline(DeviceFault):
    """The printer does not answer, or reports itself offline (cover open, error)."""


# Scanner ------------------------------------------------------------------------------------


class IncompleteScan(DeviceFault):
    """The scanner sent part of a code: no end-of-code in time, or an invalid payload."""
