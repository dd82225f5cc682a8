"""Load and look up the kit catalogue: products -> analytes -> kits, lots, and limits.

The catalogue is a folder of TOML files (``catalogue.toml``, ``products.toml``,
``analytes.toml``, ``cassettes.toml``, ``kits.toml``, ``limits.toml``); the one shipped in
``gateway/kits/data`` is the default. Loading validates every record and every reference
between them; any problem raises :class:`KitCatalogueError` naming the file, the record and
the field, and nothing is half-loaded.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import KitError
from .models import Analyte, CassetteLayout, Kit, Limit, Lot, Product

DEFAULT_PATH = Path(__file__).with_name("data")
SCHEMA = 1
FILES = ("catalogue", "products", "analytes", "cassettes", "kits", "limits")


class KitCatalogueError(KitError):
    """The catalogue files are missing, malformed or inconsistent (message says where)."""

    code = "kit_catalogue"
    translation_key = "error.kit_catalogue"


class UnknownCodeError(KitError, KeyError):
    """No product, analyte, kit or lot with that code."""

    code = "unknown_code"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class LotExpiredError(KitError):
    """The kit lot is past its expiry date: its strips must not be used."""

    code = "expired"


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Catalogue:
    """A loaded, validated catalogue. Look-ups raise :class:`UnknownCodeError`."""

    version: str
    date: dt.date
    limits_version: str
    products: Mapping[str, Product]
    analytes: Mapping[str, Analyte]
    kits: Mapping[str, Kit]
    limits: tuple[Limit, ...]
    source: Path

    def product(self, code: str) -> Product:
        """The product with this code."""
        try:
            return self.products[code]
        except KeyError:
            raise UnknownCodeError(f"no product {code!r} in the kit catalogue") from None

    def analyte(self, code: str) -> Analyte:
        """The analyte with this code."""
        try:
            return self.analytes[code]
        except KeyError:
            raise UnknownCodeError(f"no analyte {code!r} in the kit catalogue") from None

    def analytes_for(self, product: str) -> list[Analyte]:
        """The analytes offered for a product, in the product's order."""
        return [self.analytes[a] for a in self.product(product).analytes]

    def kits_for(self, analyte: str) -> list[Kit]:
        """Every kit that tests for ``analyte``: single-analyte kits first, then cards."""
        self.analyte(analyte)
        found = [k for k in self.kits.values() if analyte in k.analytes]
        return sorted(found, key=lambda k: k.windows)

    def kit_for(self, analyte: str) -> Kit:
        """The kit offered for ``analyte`` (the single-analyte one when there is one)."""
        kits = self.kits_for(analyte)
        if not kits:  # pragma: no cover - load() refuses an analyte without a kit
            raise UnknownCodeError(f"no kit for analyte {analyte!r}")
        return kits[0]

    def kit(self, kit_id: str, lot: str | None = None) -> Kit:
        """The kit with this id; with ``lot``, resolved with that lot's own figures."""
        try:
            kit = self.kits[kit_id]
        except KeyError:
            raise UnknownCodeError(f"no kit {kit_id!r} in the kit catalogue") from None
        return kit if lot is None else kit.for_lot(self.lot(kit_id, lot))

    def kit_for_gtin(self, gtin: str) -> Kit:
        """The kit whose boxes carry this GTIN (14 digits; shorter ones are zero-padded)."""
        wanted = gtin.zfill(14)
        for kit in self.kits.values():
            if wanted in kit.gtins:
                return kit
        raise UnknownCodeError(f"no kit in the kit catalogue (version {self.version}) has "
                               f"GTIN {wanted}")

    def lot(self, kit_id: str, lot: str) -> Lot:
        """One lot of a kit."""
        for candidate in self.kit(kit_id).lots:
            if candidate.lot == lot:
                return candidate
        raise UnknownCodeError(f"kit {kit_id!r} has no lot {lot!r}")

    def check_lot(self, kit_id: str, lot: str, on: dt.date) -> Lot:
        """The lot, if usable on day ``on``; :class:`LotExpiredError` after its expiry date."""
        found = self.lot(kit_id, lot)
        if on > found.expires_on:
            raise LotExpiredError(
                f"kit {kit_id} lot {lot} expired on {found.expires_on.isoformat()}: "
                "use strips from a newer box"
            )
        return found

    def usable_lots(self, kit_id: str, on: dt.date) -> list[Lot]:
        """Lots of a kit not yet expired on ``on``, soonest expiry first (use those first)."""
        lots = [lot for lot in self.kit(kit_id).lots if on <= lot.expires_on]
        return sorted(lots, key=lambda lot: lot.expires_on)

    def limit_for(self, product: str, analyte: str, on: dt.date) -> Limit | None:
        """The limit for ``analyte`` on ``product`` in force on ``on``, or None if none is
        listed. A row naming the product wins over a row for all products ('*')."""
        self.product(product)
        self.analyte(analyte)
        rows = [r for r in self.limits if r.analyte == analyte and r.applies(product, on)]
        rows.sort(key=lambda r: "*" in r.products)
        return rows[0] if rows else None


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate a catalogue folder (default: the one shipped with the gateway).

    Raises:
        KitCatalogueError: a file is missing or unreadable, a record is invalid, or a
            reference (product -> analyte, kit -> analyte/cassette, limit -> product) is
            broken. The message names the file, the record and the field.
    """
    folder = Path(path) if path is not None else DEFAULT_PATH
    if not folder.is_dir():
        raise KitCatalogueError(f"{folder}: not a kit catalogue folder")
    raw = {name: _read(folder / f"{name}.toml") for name in FILES}
    meta = raw["catalogue"]
    version, when = meta.get("version"), meta.get("date")
    if not isinstance(version, str) or not isinstance(when, dt.date):
        raise KitCatalogueError(f"{folder / 'catalogue.toml'}: needs version (text) and date")

    products = _records(folder / "products.toml", raw["products"], "products", Product, "code")
    analytes = _records(folder / "analytes.toml", raw["analytes"], "analytes", Analyte, "code")
    cassettes = _records(folder / "cassettes.toml", raw["cassettes"], "cassettes",
                         CassetteLayout, "id")
    kits_file = folder / "kits.toml"
    kit_items = []
    for i, item in enumerate(_table(kits_file, raw["kits"], "kits")):
        ref = item.get("cassette") if isinstance(item, dict) else None
        if isinstance(ref, str):
            if ref not in cassettes:
                raise KitCatalogueError(
                    f"{kits_file}: kits[{i}] ({item.get('id', '?')}): cassette: "
                    f"unknown cassette {ref!r}")
            item = {**item, "cassette": cassettes[ref].model_dump()}
        kit_items.append(item)
    kits = _records(kits_file, kit_items, "kits", Kit, "id")
    limits_file = folder / "limits.toml"
    limits = tuple(_records(limits_file, raw["limits"], "limits", Limit, None).values())
    limits_version = raw["limits"].get("version")
    limits_date = raw["limits"].get("date")
    if not isinstance(limits_version, str) or not isinstance(limits_date, dt.date):
        raise KitCatalogueError(f"{limits_file}: needs version (text) and date")

    _check_references(folder, products, analytes, kits, limits)
    return Catalogue(version=version, date=when, limits_version=limits_version,
                     products=products, analytes=analytes, kits=kits, limits=limits,
                     source=folder)


def _read(file: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KitCatalogueError(f"{file}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KitCatalogueError(f"{file}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise KitCatalogueError(f"{file}: not valid TOML: {exc}") from None
    if data.get("schema") != SCHEMA:
        raise KitCatalogueError(f"{file}: schema must be {SCHEMA}, got {data.get('schema')!r}")
    return data


def _table(file: Path, data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key)
    if not isinstance(items, list) or not items:
        raise KitCatalogueError(f"{file}: needs a non-empty [[{key}]] list")
    return items


def _records(file: Path, data: dict[str, Any] | list[Any], key: str, model: type[M],
             id_field: str | None) -> dict[str, M]:
    items = data if isinstance(data, list) else _table(file, data, key)
    out: dict[str, M] = {}
    for i, item in enumerate(items):
        label = f"{key}[{i}]"
        if isinstance(item, dict) and id_field and isinstance(item.get(id_field), str):
            label += f" ({item[id_field]})"
        try:
            record = model.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise KitCatalogueError(f"{file}: {label}: {where}: {first['msg']}{more}") from None
        ident = getattr(record, id_field) if id_field else str(i)
        if ident in out:
            raise KitCatalogueError(f"{file}: {label}: duplicate {id_field} {ident!r}")
        out[ident] = record
    return out


def _check_references(folder: Path, products: Mapping[str, Product],
                      analytes: Mapping[str, Analyte], kits: Mapping[str, Kit],
                      limits: tuple[Limit, ...]) -> None:
    for p in products.values():
        for a in p.analytes:
            if a not in analytes:
                raise KitCatalogueError(
                    f"{folder / 'products.toml'}: product {p.code}: unknown analyte {a!r}")
        if len(set(p.analytes)) != len(p.analytes):
            raise KitCatalogueError(
                f"{folder / 'products.toml'}: product {p.code}: an analyte is listed twice")
    covered: set[str] = set()
    for k in kits.values():
        for a in k.analytes:
            if a not in analytes:
                raise KitCatalogueError(
                    f"{folder / 'kits.toml'}: kit {k.id}: unknown analyte {a!r}")
            covered.add(a)
    for p in products.values():
        for a in p.analytes:
            if a not in covered:
                raise KitCatalogueError(
                    f"{folder / 'kits.toml'}: no kit for analyte {a!r} "
                    f"(offered for product {p.code})")
    owners: dict[str, str] = {}
    for k in kits.values():
        for gtin in k.gtins:
            if gtin in owners:
                raise KitCatalogueError(
                    f"{folder / 'kits.toml'}: kit {k.id}: GTIN {gtin} is also kit "
                    f"{owners[gtin]}'s (a box must name one kit)")
            owners[gtin] = k.id
    for row in limits:
        if row.analyte not in analytes:
            raise KitCatalogueError(
                f"{folder / 'limits.toml'}: limit for unknown analyte {row.analyte!r}")
        for prod in row.products:
            if prod != "*" and prod not in products:
                raise KitCatalogueError(
                    f"{folder / 'limits.toml'}: limit for {row.analyte}: "
                    f"unknown product {prod!r}")
