"""Typed configuration of every device: which backend, and the backend's settings.

The backend is always a required field: there is no default device, so a kiosk whose settings
file forgets the camera fails validation instead of silently getting a simulated one. The demo
and the tests ask for simulation explicitly with :meth:`DevicesConfig.simulated`.

In the kiosk's TOML file (``[devices.camera]`` and so on)::

    [devices.camera]
    backend = "opencv"
    device = "/dev/video0"
    exposure_us = 8000

    [devices.reader]
    backend = "serial"
    port = "/dev/ttyACM0"
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_Strict):
    """The strip camera. Exposure, gain and white balance are fixed (auto off) because the
    reading is quantitative: a camera that adapts to each strip would change the T/C ratio."""

    backend: Literal["simulated", "opencv", "picamera"]
    device: str | int = Field(
        default=0, description="opencv: /dev/videoN or an index; picamera: the camera number."
    )
    width: int = Field(default=1280, ge=16, le=8192)
    height: int = Field(default=720, ge=16, le=8192)
    exposure_us: int = Field(default=10_000, ge=10, le=1_000_000, description="fixed exposure")
    gain: float = Field(default=1.0, ge=0.0, le=64.0, description="analogue gain")
    white_balance_k: int = Field(
        default=4500, ge=2000, le=10000, description="opencv: fixed white balance temperature"
    )
    colour_gains: tuple[float, float] = Field(
        default=(1.8, 1.6), description="picamera: fixed red and blue gains (AWB off)"
    )
    pixel_format: Literal["YUYV", "MJPG"] = Field(
        default="YUYV",
        description="opencv: what the camera sends over USB. YUYV is uncompressed, and lets the "
                    "scorer cancel the membrane's texture and see veil glare with colour; MJPG "
                    "(JPEG frames) opens, for diagnosis, but the camera's health is then a "
                    "fault and the kiosk refuses to test: readings from JPEG are not certified",
    )
    burst_size: int = Field(default=5, ge=1, le=100)
    warmup_frames: int = Field(
        default=4, ge=0, le=60,
        description="frames thrown away after opening, while the sensor settles",
    )
    black_level: int = Field(
        default=12, ge=0, le=255,
        description="a frame whose brightest pixel is at or below this is 'black' (invalid)",
    )
    frame_retries: int = Field(default=2, ge=0, le=10, description="retries per invalid frame")
    strict_controls: bool = Field(
        default=True,
        description="refuse to open when the camera will not turn auto exposure/white balance off",
    )


class ReaderConfig(_Strict):
    """The reader controller board (LED, tray, cassette sensor, heater) on a serial line."""

    backend: Literal["simulated", "serial"]
    port: str | None = Field(
        default=None, description="serial: /dev/ttyACM0, or a pyserial URL such as loop://"
    )
    baud: int = Field(default=115200, ge=1200)
    timeout_s: float = Field(default=1.0, gt=0, description="answer time for one command")
    handshake_timeout_s: float = Field(default=3.0, gt=0)
    tray_timeout_s: float = Field(default=8.0, gt=0)
    reconnect_s: float = Field(
        default=5.0, ge=0, description="how long to wait for a USB port that vanished to return"
    )
    retries: int = Field(default=1, ge=0, le=5, description="retries of a command after a reset")
    protocol: int = Field(default=1, description="the line protocol version this host speaks")

    @model_validator(mode="after")
    def _port_for_serial(self) -> Self:
        if self.backend == "serial" and not self.port:
            raise ValueError("reader backend 'serial' needs a port, e.g. /dev/ttyACM0")
        return self


class PrinterConfig(_Strict):
    """The thermal receipt printer (ESC/POS)."""

    backend: Literal["simulated", "serial", "usb", "file"]
    target: str | None = Field(
        default=None,
        description="serial: a port; usb: the usblp device (/dev/usb/lp0); file: a path",
    )
    baud: int = Field(default=9600, ge=1200)
    paper_width_dots: int = Field(default=384, ge=64, le=1024, description="58 mm paper: 384")
    status_timeout_s: float = Field(default=0.5, gt=0)
    status_retries: int = Field(default=2, ge=0, le=5)
    feed_lines: int = Field(default=4, ge=0, le=20)
    cut: bool = True

    @model_validator(mode="after")
    def _target_for_real(self) -> Self:
        if self.backend != "simulated" and not self.target:
            raise ValueError(f"printer backend {self.backend!r} needs a target")
        return self


class ScannerConfig(_Strict):
    """The QR scanner for producer cards and kit boxes."""

    backend: Literal["simulated", "evdev", "serial"]
    target: str | None = Field(
        default=None,
        description="evdev: /dev/input/by-id/...-event-kbd; serial: a port such as /dev/ttyACM1",
    )
    baud: int = Field(default=9600, ge=1200)
    grab: bool = Field(
        default=True, description="evdev: take the keyboard away from the desktop while open"
    )
    char_timeout_s: float = Field(
        default=0.3, gt=0, description="a code whose next character is later than this is cut"
    )
    max_length: int = Field(default=1024, ge=1)

    @model_validator(mode="after")
    def _target_for_real(self) -> Self:
        if self.backend != "simulated" and not self.target:
            raise ValueError(f"scanner backend {self.backend!r} needs a target")
        return self


class DevicesConfig(_Strict):
    """All of a kiosk's devices. Every device must be configured; there is no default."""

    camera: CameraConfig
    reader: ReaderConfig
    printer: PrinterConfig
    scanner: ScannerConfig

    @classmethod
    def simulated(cls, *, camera_size: tuple[int, int] = (1280, 720)) -> DevicesConfig:
        """Every device simulated: for the demo and the tests, never a fallback.

        Args:
            camera_size: width and height of the simulated camera's frames; scenes shown to it
                must have this size.
        """
        width, height = camera_size
        return cls(
            camera=CameraConfig(backend="simulated", width=width, height=height, warmup_frames=0),
            reader=ReaderConfig(backend="simulated"),
            printer=PrinterConfig(backend="simulated"),
            scanner=ScannerConfig(backend="simulated"),
        )
