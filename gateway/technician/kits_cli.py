"""``nongan kits scan | add | list | retire``: kit boxes into and out of the kiosk's stock.

``scan`` reads the configured scanner (box after box, until nothing is scanned for
``--timeout`` seconds); ``add`` takes a label's text or the fields typed in; ``list`` shows the
stock with expiry warnings; ``retire`` takes a box out of stock. Exit codes: 0 when everything
asked for was done, 1 when a box was refused or a code was unreadable, 2 on a bad settings
file or arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from rich.table import Table
from rich.text import Text

from ..kit_labels import (
    LabelError,
    Registration,
    RegistrationError,
    parse_label,
    register_label,
    typed_label,
)
from ..kit_stock import KitBox, KitStockBook, StockError
from ..kits import Catalogue, KitCatalogueError, UnknownCodeError, load_catalogue
from ..settings import GatewaySettings
from ..storage import KioskDatabase

EXPIRING_DAYS = 14


class _Stock:
    """The settings' database and catalogue, opened for one command."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.today = settings.clock.today()
        self.catalogue: Catalogue = load_catalogue(settings.kits.catalogue)
        self.db = KioskDatabase.in_folder(settings.device.data_dir)
        self.book = KitStockBook(self.db)

    def __enter__(self) -> _Stock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def _settings(args: argparse.Namespace) -> GatewaySettings | None:
    from ..cli import load_or_report

    return load_or_report(args)


def _open(settings: GatewaySettings) -> _Stock | None:
    try:
        return _Stock(settings)
    except KitCatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _show_registration(reg: Registration) -> None:
    box = reg.box
    if reg.new:
        print(f"added: {box.box_code}: {reg.kit.id} lot {box.lot}, expires {box.expires_on}, "
              f"{box.strips_total} strips")
    else:
        print(f"already registered: {box.box_code}: {reg.kit.id} lot {box.lot}, "
              f"{box.strips_left} of {box.strips_total} strips left (nothing changed)")


def _refused(exc: LabelError | RegistrationError) -> int:
    print(f"refused: {exc}", file=sys.stderr)
    print(f"fix: {exc.fix}", file=sys.stderr)
    return 1


def _register_code(stock: _Stock, code: str, args: argparse.Namespace) -> int:
    try:
        label = parse_label(code)
        reg = register_label(stock.book, stock.catalogue, label, today=stock.today,
                             strips=args.strips, another_box=args.another_box)
    except (LabelError, RegistrationError) as exc:
        return _refused(exc)
    _show_registration(reg)
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from device_drivers import DeviceError, SimulatedScanner

    from ..devices import KioskDevices

    settings = _settings(args)
    if settings is None:
        return 2
    if settings.devices is None:
        print("error: no scanner is configured (no [devices] in the settings)", file=sys.stderr)
        return 2
    devices = KioskDevices.from_config(settings.devices,
                                       lock_path=settings.device.data_dir / "devices.lock")
    if isinstance(devices.scanner, SimulatedScanner):
        print("error: the scanner is simulated: this process's own simulated scanner cannot be "
              "scanned into. Type the label in instead: nongan kits add --label TEXT",
              file=sys.stderr)
        return 2
    errors = devices.open_all(only=("scanner",))
    status = 0
    try:
        if errors:
            print(f"error: the scanner did not open: {errors['scanner']}", file=sys.stderr)
            return 1
        opened = _open(settings)
        if opened is None:
            return 2
        with opened as stock:
            print(f"scan kit boxes now (stops after {args.timeout:g} s without a scan)")
            while True:
                try:
                    code = devices.scanner.read_code(args.timeout)
                except DeviceError as exc:
                    print(f"unreadable: {exc}", file=sys.stderr)
                    print(f"fix: {exc.fix}", file=sys.stderr)
                    status = 1
                    continue
                if code is None:
                    print("no more scans")
                    break
                status = max(status, _register_code(stock, code, args))
                if args.once:
                    break
    finally:
        devices.close_all()
    return status


def cmd_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    typed = [args.kit, args.lot, args.expires]
    if args.label is None and not all(typed):
        print("error: give --label TEXT, or all of --kit, --lot, --expires and --strips",
              file=sys.stderr)
        return 2
    opened = _open(settings)
    if opened is None:
        return 2
    with opened as stock:
        if args.label is not None:
            return _register_code(stock, args.label, args)
        if args.strips is None:
            print("error: --strips is needed with --kit", file=sys.stderr)
            return 2
        try:
            expires = date.fromisoformat(args.expires)
        except ValueError:
            print(f"error: --expires {args.expires!r} is not a date YYYY-MM-DD",
                  file=sys.stderr)
            return 2
        try:
            label = typed_label(args.kit, args.lot, expires, args.strips, args.serial)
            reg = register_label(stock.book, stock.catalogue, label, today=stock.today,
                                 another_box=args.another_box)
        except (LabelError, RegistrationError) as exc:
            return _refused(exc)
        _show_registration(reg)
        return 0


def box_status(box: KitBox, catalogue: Catalogue, today: date) -> tuple[str, str]:
    """(status word, style) of one box, as ``kits list`` shows it."""
    try:
        catalogue.lot(box.kit_id, box.lot)
    except UnknownCodeError:
        return "lot not in catalogue", "bold red"
    if box.expires_on < today:
        return "EXPIRED", "bold red"
    if box.strips_left == 0:
        return "used up", "yellow"
    days = (box.expires_on - today).days
    if days <= EXPIRING_DAYS:
        return f"expires in {days} day(s)", "yellow"
    return "ok", "green"


def cmd_list(args: argparse.Namespace) -> int:
    from .render import console

    settings = _settings(args)
    if settings is None:
        return 2
    today = settings.clock.today()
    opened = _open(settings)
    if opened is None:
        return 2
    with opened as stock:
        boxes = stock.book.boxes()
        rows = [(b, *box_status(b, stock.catalogue, today)) for b in boxes]
    if args.json:
        print(json.dumps([{"box_code": b.box_code, "kit_id": b.kit_id, "lot": b.lot,
                           "expires_on": b.expires_on.isoformat(),
                           "strips_total": b.strips_total, "strips_left": b.strips_left,
                           "status": status} for b, status, _ in rows],
                         indent=2, ensure_ascii=False))
        return 0
    out = console()
    if not rows:
        out.print("no kit box is registered: nongan kits scan")
        return 0
    table = Table(title=f"kit stock on {today}")
    for column in ("box", "kit", "lot", "expires", "strips left", "status"):
        table.add_column(column)
    for box, status, style in rows:
        table.add_row(box.box_code, box.kit_id, box.lot, str(box.expires_on),
                      f"{box.strips_left} / {box.strips_total}", Text(status, style))
    out.print(table)
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:
        return 2
    opened = _open(settings)
    if opened is None:
        return 2
    with opened as stock:
        try:
            box = stock.book.retire_box(args.box)
        except StockError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"retired: {box.box_code} ({box.kit_id} lot {box.lot}, {box.strips_left} strips "
          "left): take it out of the kiosk")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..cli import add_config_arg

    kits = subparsers.add_parser("kits", help="kit boxes: scan them into stock, list, retire")

    def usage(args: argparse.Namespace) -> int:
        kits.print_help()
        return 2

    kits.set_defaults(func=usage)
    verbs = kits.add_subparsers(dest="kits_command", metavar="VERB")

    scan = verbs.add_parser("scan", help="register boxes by scanning their labels")
    add_config_arg(scan)
    scan.add_argument("--timeout", type=float, default=60.0,
                      help="stop after this many seconds without a scan (default 60)")
    scan.add_argument("--once", action="store_true", help="stop after one box")
    _box_options(scan)
    scan.set_defaults(func=cmd_scan)

    add = verbs.add_parser("add", help="register a box by its label's text, or typed in")
    add_config_arg(add)
    add.add_argument("--label", help="the label's text (GS1 or NGK1|…)")
    add.add_argument("--kit", help="kit id (typed in)")
    add.add_argument("--lot", help="lot (typed in)")
    add.add_argument("--expires", metavar="YYYY-MM-DD", help="expiry date (typed in)")
    add.add_argument("--serial", help="the box's serial number, if it has one (typed in)")
    _box_options(add)
    add.set_defaults(func=cmd_add)

    listing = verbs.add_parser("list", help="the kit stock, with expiry warnings")
    add_config_arg(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    retire = verbs.add_parser("retire", help="take a box out of stock (expired, damaged)")
    add_config_arg(retire)
    retire.add_argument("box", help="the box code, as kits list shows it")
    retire.set_defaults(func=cmd_retire)


def _box_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strips", type=int, help="strips in the box (when the label does "
                        "not say, or the box is not full)")
    parser.add_argument("--another-box", action="store_true",
                        help="a label without a serial: this is a further box of a lot already "
                             "registered, not a re-scan")


__all__ = ["register"]
