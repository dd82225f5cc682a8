"""Place names for division codes (产地): 省 → 市 → 县 → 镇 → 村, for kiosk and cloud alike.

A certificate stores a code (``protocol.messages.PlaceCode``); people read names. This package
turns one into the other from a data file built at install time from the National Bureau of
Statistics' division codes (see ``docs/places.md`` for the source, its date and licence)::

    from protocol.places import default_places
    places = default_places()
    places.full_name("370902001")      # '山东省泰安市泰山区岱庙街道'
    places.children("3709")            # the counties of 泰安市, for a touch picker
    places.search("岱庙")               # for staff typing a name

Nothing is read when this package is imported: the file is opened on the first lookup
(well under a millisecond). Lookups of a code that is unknown, or no longer current, still
give something to print (:meth:`Places.display_name`).
"""

from __future__ import annotations

import threading

from .codes import Level, lineage, normalise, parent_of, wire_code
from .errors import (
    InvalidPlaceCode,
    PlacesBuildError,
    PlacesDataMissing,
    PlacesError,
    UnknownPlace,
)
from .store import FORMER_MARK, DataInfo, Place, Places, default_path

__all__ = [
    "FORMER_MARK",
    "DataInfo",
    "InvalidPlaceCode",
    "Level",
    "Place",
    "Places",
    "PlacesBuildError",
    "PlacesDataMissing",
    "PlacesError",
    "UnknownPlace",
    "default_path",
    "default_places",
    "lineage",
    "normalise",
    "parent_of",
    "wire_code",
]

_default: Places | None = None
_default_lock = threading.Lock()


def default_places() -> Places:
    """The process's shared :class:`Places` on :func:`default_path` (created, not opened)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Places()
        return _default
