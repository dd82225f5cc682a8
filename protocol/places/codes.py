"""Division codes as numbers: their level, their parent, and the two spellings in use.

The statistical division codes (统计用区划代码) extend GB/T 2260 by level: province 2 digits
(``37``), city 4 (``3709``), county 6 (``370902``), town 9 (``370902001``), village 12
(``370902001001``); every code starts with its parent's. That is the *short* spelling, used
inside this package. On the wire and on certificates (``protocol.messages.PlaceCode``) codes are
6, 9 or 12 digits, so a province or a city is padded GB/T 2260 style (``370000``,
``370900``), and some sources pad everything to 12 digits (``370902000000``).
:func:`normalise` reads all of these; :func:`wire_code` writes the wire spelling.

No data is needed here: these are rules of the code itself.
"""

from __future__ import annotations

import enum
import re

from .errors import InvalidPlaceCode


class Level(enum.IntEnum):
    """The five levels, with the length of their short code."""

    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    TOWN = 4
    VILLAGE = 5

    @property
    def digits(self) -> int:
        return LENGTHS[self - 1]

    @property
    def label_zh(self) -> str:
        return ("省级", "地级", "县级", "乡级", "村级")[self - 1]


LENGTHS = (2, 4, 6, 9, 12)
_LEVEL_BY_LENGTH = {n: Level(i + 1) for i, n in enumerate(LENGTHS)}
_DIGITS = re.compile(r"[0-9]{2,12}")
# A province code's first digit is the region (1 north ... 8 Hong Kong/Macau); never 0.
_FIRST = re.compile(r"[1-9]")


def normalise(code: str) -> str:
    """The short code for any accepted spelling.

    Accepts short codes (2/4/6/9/12 digits) and zero-padded ones: ``370000`` → ``37``,
    ``370900`` → ``3709``, ``370902000000`` → ``370902``, ``370902001000`` → ``370902001``.
    Surrounding spaces are ignored.

    Raises:
        InvalidPlaceCode: anything else.
    """
    text = code.strip() if isinstance(code, str) else ""
    if not _DIGITS.fullmatch(text) or len(text) not in _LEVEL_BY_LENGTH or not _FIRST.match(text):
        raise InvalidPlaceCode(f"not a division code: {code!r} (2, 4, 6, 9 or 12 digits)")
    # Strip padding one level at a time: a padded part is all zeros, never a real code
    # (real town and village numbers start at 001, cities and counties at 01).
    while len(text) > 2:
        parent_len = LENGTHS[LENGTHS.index(len(text)) - 1]
        if text[parent_len:].strip("0"):
            break
        text = text[:parent_len]
    return text


def level_of(code: str) -> Level:
    """The level of a short code (its length)."""
    return _LEVEL_BY_LENGTH[len(normalise(code))]


def parent_of(code: str) -> str | None:
    """The parent's short code, or None for a province."""
    short = normalise(code)
    level = _LEVEL_BY_LENGTH[len(short)]
    if level is Level.PROVINCE:
        return None
    return short[: LENGTHS[level - 2]]


def lineage(code: str) -> list[str]:
    """Short codes from the province down to ``code`` itself."""
    short = normalise(code)
    return [short[:n] for n in LENGTHS if n <= len(short)]


def wire_code(code: str) -> str:
    """The 6/9/12-digit spelling of ``protocol.messages.PlaceCode`` (``37`` → ``370000``)."""
    short = normalise(code)
    return short.ljust(6, "0") if len(short) < 6 else short


def to_int(code: str) -> int:
    """The integer key the data file stores (lengths never collide: no code starts with 0)."""
    return int(normalise(code))


def from_int(key: int) -> str:
    """Back from the integer key to the short code."""
    text = str(key)
    if len(text) not in _LEVEL_BY_LENGTH:
        raise InvalidPlaceCode(f"not a stored division key: {key}")
    return text


def level_of_short(short: str) -> Level:
    """The level of a *stored* short code, by its length alone (``441900`` is a county-level
    row, although :func:`normalise` reads the same digits as the city ``4419``)."""
    try:
        return _LEVEL_BY_LENGTH[len(short)]
    except KeyError:
        raise InvalidPlaceCode(f"not a short division code: {short!r}") from None


def child_range(short: str) -> tuple[int, int] | None:
    """Inclusive integer key range of the codes one level below a *stored* short code (None
    for a village). Not normalised: the data holds a few county-level copies of a city whose
    codes look padded (``441900`` 东莞市 under ``4419``), and their children are their own."""
    if len(short) not in _LEVEL_BY_LENGTH:
        raise InvalidPlaceCode(f"not a short division code: {short!r}")
    index = LENGTHS.index(len(short))
    if index == len(LENGTHS) - 1:
        return None
    width = LENGTHS[index + 1] - len(short)
    low = int(short) * 10**width
    return low, low + 10**width - 1


def subtree_range(code: str, level: Level) -> tuple[int, int]:
    """Inclusive integer key range of the codes at ``level`` under ``code``."""
    short = normalise(code)
    width = level.digits - len(short)
    if width < 0:
        raise InvalidPlaceCode(f"{short} is below level {level.name.lower()}")
    low = int(short) * 10**width
    return low, low + 10**width - 1
