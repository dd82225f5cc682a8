"""What the session reads of the kiosk's settings, and nothing more.

The session used to hold the whole ``GatewaySettings``; ``SessionConfig`` is the narrow part
it uses (language, timeouts, the producers' list, the origins offered, attempts per cassette,
the name printed on certificates), made once by ``from_settings`` so that a test or another
screen can build a session without the rest of a kiosk's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import GatewaySettings


@dataclass(frozen=True, slots=True)
class SessionConfig:
    language: str = "zh-CN"
    step_timeout_s: float = 120.0
    long_step_timeout_s: float = 300.0
    warning_s: float = 30.0
    cassette_timeout_s: float = 180.0
    recent_producers: int = 6
    origins: tuple[tuple[str, str], ...] = ()
    """(division code, name) a new producer may give as origin; the kiosk's own place first."""
    max_attempts: int = 3
    """Strips per cassette of the panel: the first and the re-tests allowed."""
    station_name: str = ""

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> SessionConfig:
        session, device = settings.session, settings.device
        here = (device.place_code, device.station_name or device.place_code)
        more = tuple((o.code, o.name) for o in session.origins if o.code != device.place_code)
        return cls(
            language=settings.ui.language,
            step_timeout_s=session.step_timeout_s,
            long_step_timeout_s=session.long_step_timeout_s,
            warning_s=session.warning_s,
            cassette_timeout_s=settings.station.cassette_timeout_s,
            recent_producers=session.recent_producers,
            origins=(here, *more),
            max_attempts=1 + settings.station.max_retests,
            station_name=device.station_name,
        )
