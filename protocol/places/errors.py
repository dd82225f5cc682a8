"""Errors of the place-name lookup, split by what the caller can do about them.

- ``InvalidPlaceCode``: the text is not a division code at all (fix the input).
- ``UnknownPlace``: a well-formed code the shipped data does not hold (show the code, ask staff).
- ``PlacesDataMissing``: no data file was built on this machine (run ``nongan places build``).
"""

from __future__ import annotations


class PlacesError(Exception):
    """Root of every place-name error."""


class InvalidPlaceCode(PlacesError, ValueError):
    """Not a division code: digits of length 2, 4, 6, 9 or 12 (or 6/9/12 padded with zeros)."""


class UnknownPlace(PlacesError, LookupError):
    """A well-formed code that the data does not hold.

    ``covered`` is False when the data was built without the towns and villages of that
    province (a kiosk's one-province file), so the code may well exist.
    """

    def __init__(self, code: str, *, covered: bool = True) -> None:
        where = "" if covered else " (this data file holds no towns or villages there)"
        super().__init__(f"no place with code {code}{where}")
        self.code = code
        self.covered = covered


class PlacesDataMissing(PlacesError, FileNotFoundError):
    """The place-name data file is absent or unreadable."""


class PlacesBuildError(PlacesError, RuntimeError):
    """The data could not be built: the source package is missing, altered or malformed."""
