"""Read-only lookups in the place-name data file (SQLite), for kiosk and cloud alike.

The file is built at install time (:mod:`protocol.places.build`) and only read here, through
one connection opened on first use (``mode=ro``, ``immutable=1``: no locks, no journal; a
rebuild replaces the file by rename, so an open reader keeps the old one). One table holds
every place keyed by its code as an integer, so the children of a code are a range scan of the
primary key (see :func:`protocol.places.codes.child_range`) and no other index is needed.

*Grouping* rows (``virtual``) are the statistical data's placeholders that are not places to a
person: 市辖区 and 县 under a municipality, 省直辖县级行政区划, and the county-level copy of a
city without counties (东莞市 under 东莞市). They are skipped in names and spliced through in
:meth:`Places.children`, so a touch picker goes 北京市 → 东城区 directly.

*Former* rows are codes a newer edition of the data no longer has (renamed, merged, moved);
they keep their last name so an old certificate still reads, carry the edition they were last
seen in, and are left out of pickers and searches unless asked for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from . import codes
from .codes import Level
from .errors import InvalidPlaceCode, PlacesDataMissing, UnknownPlace

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_PATH = DATA_DIR / "places.sqlite"
ENV_PATH = "NONGAN_PLACES_DB"
SCHEMA_VERSION = 1

FLAG_VIRTUAL = 1
FORMER_MARK = "（原区划）"
"""Printed after the name of a place that a newer edition no longer has."""


@dataclass(frozen=True, slots=True)
class Place:
    """One division: its short code, its own name and where it stands."""

    code: str
    name: str
    level: Level
    virtual: bool = False
    former_until: str | None = None
    """The data edition this code was last seen in, when it is no longer current."""

    @property
    def former(self) -> bool:
        return self.former_until is not None

    @property
    def wire_code(self) -> str:
        """The 6/9/12-digit spelling used on certificates (``protocol.messages.PlaceCode``)."""
        return codes.wire_code(self.code)


@dataclass(frozen=True, slots=True)
class DataInfo:
    """What the data file is: its version, sources and coverage (the ``meta`` table)."""

    version: str
    schema: int
    editions: tuple[dict[str, str], ...]
    provinces: tuple[str, ...] | None
    """Provinces whose towns and villages are held; None for all."""
    counts: dict[str, int]
    built_at: str
    amendments: str | None
    path: Path


def default_path() -> Path:
    """The data file in use: ``$NONGAN_PLACES_DB`` if set, else the package's own."""
    override = os.environ.get(ENV_PATH)
    return Path(override) if override else DEFAULT_PATH


class Places:
    """Lookups in one data file. Cheap to create: the file is opened on the first lookup.

    Thread-safe: one connection, used under a lock (a lookup takes microseconds).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.file = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._info: DataInfo | None = None

    # -- opening -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.file.is_file():
                raise PlacesDataMissing(
                    f"no place-name data at {self.file}: run `nongan places build` "
                    "(scripts/bootstrap does)")
            uri = f"{self.file.resolve().as_uri()}?mode=ro&immutable=1"
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            try:
                schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError as exc:
                db.close()
                raise PlacesDataMissing(f"{self.file} is not a place-name data file: {exc}") \
                    from exc
            if schema is None or int(schema[0]) != SCHEMA_VERSION:
                db.close()
                raise PlacesDataMissing(
                    f"{self.file} has data schema {schema and schema[0]}, this code reads "
                    f"{SCHEMA_VERSION}: rebuild it with `nongan places build --force`")
            self._db = db
        return self._db

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- the data itself -----------------------------------------------------------------

    @property
    def info(self) -> DataInfo:
        """The data's version, sources, coverage and counts."""
        if self._info is None:
            meta = {str(k): str(v) for k, v in self._query("SELECT key, value FROM meta")}
            provinces = json.loads(meta.get("provinces", "null"))
            self._info = DataInfo(
                version=meta["version"], schema=int(meta["schema"]),
                editions=tuple(json.loads(meta["editions"])),
                provinces=tuple(provinces) if provinces is not None else None,
                counts=json.loads(meta["counts"]), built_at=meta["built_at"],
                amendments=meta.get("amendments") or None, path=self.file)
        return self._info

    @property
    def version(self) -> str:
        """Short data version to store beside a code (e.g. ``nbs-2023``)."""
        return self.info.version

    def covers(self, code: str) -> bool:
        """Whether the file holds this code's level at all (a one-province file holds the
        country's provinces, cities and counties but only its own towns and villages)."""
        short = codes.normalise(code)
        provinces = self.info.provinces
        return len(short) <= 6 or provinces is None or short[:2] in provinces

    @staticmethod
    def _row(row: tuple[object, ...]) -> Place:
        key, name, flags, until = row
        code = codes.from_int(int(str(key)))
        return Place(code=code, name=str(name), level=codes.level_of_short(code),
                     virtual=bool(int(str(flags)) & FLAG_VIRTUAL),
                     former_until=str(until) if until is not None else None)

    def get(self, code: str) -> Place | None:
        """The place with this code (any spelling), or None if the data has no such code.

        Raises:
            InvalidPlaceCode: ``code`` is not a division code.
        """
        rows = self._query("SELECT code, name, flags, until FROM place WHERE code = ?",
                           (codes.to_int(code),))
        return self._row(rows[0]) if rows else None

    def validate(self, code: str) -> Place:
        """The place, or an error saying why not.

        Raises:
            InvalidPlaceCode: not a division code.
            UnknownPlace: well formed, but not in the data (``covered`` says whether the
                data would have held it).
        """
        place = self.get(code)
        if place is None:
            short = codes.normalise(code)
            raise UnknownPlace(short, covered=self.covers(short))
        return place

    def name_of(self, code: str) -> str | None:
        """The place's own name (``岱庙街道``), or None if unknown."""
        place = self.get(code)
        return place.name if place else None

    def path(self, code: str) -> list[Place]:
        """The known places from the province down to ``code``, groupings left out.

        Unknown levels are missing from the list, so its last item may be an ancestor: compare
        ``path[-1].code`` with the code asked for (or use :meth:`display_name`).
        """
        keys = [int(c) for c in codes.lineage(code)]  # prefixes as stored (441900 too)
        marks = ",".join("?" * len(keys))
        rows = self._query(
            f"SELECT code, name, flags, until FROM place WHERE code IN ({marks}) ORDER BY code",
            tuple(keys))
        found = sorted((self._row(r) for r in rows), key=lambda p: len(p.code))
        target = codes.normalise(code)
        return [p for p in found if not p.virtual or p.code == target]

    def full_name(self, code: str, separator: str = "") -> str | None:
        """All names from the province down (``山东省泰安市泰山区岱庙街道``), or None if the
        code itself is unknown."""
        places = self.path(code)
        if not places or places[-1].code != codes.normalise(code):
            return None
        return separator.join(p.name for p in places)

    def display_name(self, code: str, separator: str = "") -> str:
        """Always something to print: the full name when known; else the names of the known
        ancestors followed by the code in brackets (``山东省泰安市泰山区（370902999）``);
        the bare code when nothing is known. A former place gets :data:`FORMER_MARK`."""
        short = codes.normalise(code)
        places = self.path(short)
        text = separator.join(p.name for p in places)
        if not places or places[-1].code != short:
            return f"{text}（{codes.wire_code(short)}）" if text else codes.wire_code(short)
        return f"{text}{FORMER_MARK}" if places[-1].former else text

    def children(self, code: str | None = None, *, include_former: bool = False) -> list[Place]:
        """The places one step down, in code order: provinces when ``code`` is None.

        Groupings are spliced through (北京市 → its districts; 海南省 → its cities and the
        county-level cities it governs directly), so an item may sit two levels down: read
        its ``level``.
        """
        return self._children(None if code is None else codes.normalise(code), include_former)

    def _children(self, short: str | None, include_former: bool) -> list[Place]:
        if short is None:
            low, high = 10, 99
        else:
            found = codes.child_range(short)
            if found is None:
                return []
            low, high = found
        rows = self._query(
            "SELECT code, name, flags, until FROM place WHERE code BETWEEN ? AND ? ORDER BY code",
            (low, high))
        result: list[Place] = []
        for place in map(self._row, rows):
            if place.former and not include_former:
                continue
            if place.virtual:
                result.extend(self._children(place.code, include_former))
            else:
                result.append(place)
        return result

    def search(self, text: str, *, within: str | None = None, level: Level | None = None,
               limit: int = 20, include_former: bool = False) -> list[Place]:
        """Places whose name contains ``text``: higher levels first, then by code.

        ``within`` limits the search to the places under a code (fast: a key range);
        ``level`` to one level. Groupings are never returned.
        """
        fragment = text.strip()
        if not fragment:
            return []
        clauses = ["instr(name, ?) > 0", "flags & ? = 0"]
        params: list[object] = [fragment, FLAG_VIRTUAL]
        if not include_former:
            clauses.append("until IS NULL")
        ranges = self._search_ranges(within, level)
        clauses.append("(" + " OR ".join("code BETWEEN ? AND ?" for _ in ranges) + ")")
        for low, high in ranges:
            params.extend((low, high))
        rows = self._query(
            "SELECT code, name, flags, until FROM place WHERE " + " AND ".join(clauses)
            + " ORDER BY length(code), code LIMIT ?", (*params, max(1, min(limit, 500))))
        return [self._row(r) for r in rows]

    @staticmethod
    def _search_ranges(within: str | None, level: Level | None) -> list[tuple[int, int]]:
        levels = [level] if level is not None else list(Level)
        if within is None:
            return [(10 ** (lv.digits - 1), 10**lv.digits - 1) for lv in levels]
        base = codes.normalise(within)
        ranges = [codes.subtree_range(base, lv) for lv in levels if lv.digits > len(base)]
        if not ranges:
            raise InvalidPlaceCode(f"nothing lies under {base} at that level")
        return ranges
