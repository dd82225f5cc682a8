"""Reagent stock at the kiosk: kit boxes registered by scanning, strips taken one per test.

A box is registered with its kit, lot, expiry and strip count (``register_box``; the scanning
and the box label formats are in ``gateway.kit_labels``). A test takes one strip
(``take_strip``) from the usable box of that kit that expires first; an expired or exhausted
kit is refused with a reason a technician can act on. Every strip taken is logged
(``strip_uses``), so the count on screen can be audited against the boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from protocol import KitStock

from .errors import KitError
from .storage import KioskDatabase


class KitUnavailable(KitError):
    """No strip of this kit can be used: none registered, all expired, or all used up."""

    translation_key = "error.kit_unavailable"
    placeholder_names = ("kit",)

    def __init__(self, kit_id: str, code: str, message: str) -> None:
        super().__init__(message, kit=kit_id)
        self.kit_id = kit_id
        self.code = code  # "no_stock", "expired", "exhausted" (the station's refusal codes)


class StockError(KitError, ValueError):
    """A box that cannot be registered (bad count, already registered with other contents)."""

    code = "stock"
    translation_key = "error.stock"


@dataclass(frozen=True, slots=True)
class KitBox:
    box_code: str
    kit_id: str
    lot: str
    expires_on: date
    strips_total: int
    strips_left: int


@dataclass(frozen=True, slots=True)
class TakenStrip:
    box_code: str
    kit_id: str
    lot: str
    expires_on: date


class KitStockBook:
    def __init__(self, db: KioskDatabase) -> None:
        self.db = db

    def register_box(
        self, *, box_code: str, kit_id: str, lot: str, expires_on: date, strips: int
    ) -> KitBox:
        """Add a box of strips; scanning the same box again changes nothing.

        Raises:
            StockError: a non-positive count, or a box code already registered with other
                contents (a copied label).
        """
        if strips <= 0 or strips > 10_000:
            raise StockError(f"a box must hold between 1 and 10000 strips, not {strips}")
        now = datetime.now(UTC).isoformat()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT kit_id, lot, expires_on, strips_total FROM kit_boxes WHERE box_code = ?",
                (box_code,),
            ).fetchone()
            if row is not None:
                if (row[0], row[1], row[2], row[3]) != (kit_id, lot, expires_on.isoformat(),
                                                         strips):
                    raise StockError(
                        f"box {box_code} is already registered with other contents "
                        f"({row[0]} lot {row[1]}): is the label copied?"
                    )
            else:
                conn.execute(
                    "INSERT INTO kit_boxes (box_code, kit_id, lot, expires_on, strips_total,"
                    " strips_left, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (box_code, kit_id, lot, expires_on.isoformat(), strips, strips, now),
                )
        box = self.box(box_code)
        assert box is not None
        return box

    def box(self, box_code: str) -> KitBox | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT box_code, kit_id, lot, expires_on, strips_total, strips_left"
                " FROM kit_boxes WHERE box_code = ?", (box_code,),
            ).fetchone()
        return _box(row) if row else None

    def box_codes_like(self, prefix: str) -> list[str]:
        """Codes of boxes (retired ones included) whose code starts with ``prefix``."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT box_code FROM kit_boxes WHERE substr(box_code, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def retire_box(self, box_code: str) -> KitBox:
        """Take a box out of stock (expired, damaged, moved to another kiosk); kept on record.

        Raises:
            StockError: no such box, or it is retired already.
        """
        with self.db.transaction() as conn:
            row = conn.execute("SELECT retired_at FROM kit_boxes WHERE box_code = ?",
                               (box_code,)).fetchone()
            if row is None:
                raise StockError(f"no box {box_code} is registered at this kiosk")
            if row[0] is not None:
                raise StockError(f"box {box_code} was retired on {row[0][:10]}")
            conn.execute("UPDATE kit_boxes SET retired_at = ? WHERE box_code = ?",
                         (datetime.now(UTC).isoformat(), box_code))
        box = self.box(box_code)
        assert box is not None
        return box

    def boxes(self, kit_id: str | None = None) -> list[KitBox]:
        query = ("SELECT box_code, kit_id, lot, expires_on, strips_total, strips_left"
                 " FROM kit_boxes WHERE retired_at IS NULL")
        args: tuple[str, ...] = ()
        if kit_id is not None:
            query += " AND kit_id = ?"
            args = (kit_id,)
        with self.db.read() as conn:
            rows = conn.execute(query + " ORDER BY kit_id, expires_on, box_code", args)
            return [_box(r) for r in rows.fetchall()]

    def check(self, kit_id: str, today: date) -> TakenStrip:
        """The strip ``take_strip`` would take now, without taking it.

        Raises:
            KitUnavailable: with the reason (no stock, expired, exhausted).
        """
        return self._choose(self.boxes(kit_id), kit_id, today)

    def take_strip(self, kit_id: str, today: date, *, session_id: str | None = None,
                   purpose: str = "test") -> TakenStrip:
        """Take one strip: from the unexpired box of this kit that expires first.

        Raises:
            KitUnavailable: with the reason (no stock, expired, exhausted).
        """
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT box_code, kit_id, lot, expires_on, strips_total, strips_left"
                " FROM kit_boxes WHERE retired_at IS NULL AND kit_id = ?"
                " ORDER BY expires_on, box_code", (kit_id,),
            ).fetchall()
            strip = self._choose([_box(r) for r in rows], kit_id, today)
            conn.execute(
                "UPDATE kit_boxes SET strips_left = strips_left - 1 WHERE box_code = ?",
                (strip.box_code,),
            )
            conn.execute(
                "INSERT INTO strip_uses (box_code, used_at, session_id, purpose)"
                " VALUES (?, ?, ?, ?)",
                (strip.box_code, datetime.now(UTC).isoformat(), session_id, purpose),
            )
        return strip

    @staticmethod
    def _choose(boxes: list[KitBox], kit_id: str, today: date) -> TakenStrip:
        if not boxes:
            raise KitUnavailable(kit_id, "no_stock",
                                 f"no box of kit {kit_id} is registered at this kiosk")
        fresh = [b for b in boxes if b.expires_on >= today]
        if not fresh:
            latest = max(b.expires_on for b in boxes)
            raise KitUnavailable(kit_id, "expired",
                                 f"every box of kit {kit_id} has expired (latest {latest})")
        usable = [b for b in fresh if b.strips_left > 0]
        if not usable:
            raise KitUnavailable(kit_id, "exhausted",
                                 f"every unexpired box of kit {kit_id} is used up")
        box = min(usable, key=lambda b: (b.expires_on, b.box_code))
        return TakenStrip(box.box_code, box.kit_id, box.lot, box.expires_on)

    def summary(self) -> list[KitStock]:
        """Strips left per kit and lot, for telemetry and the technician."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT kit_id, lot, min(expires_on), sum(strips_left) FROM kit_boxes"
                " WHERE retired_at IS NULL GROUP BY kit_id, lot ORDER BY kit_id, lot"
            ).fetchall()
        return [KitStock(kit_id=r[0], lot=r[1], expires_on=date.fromisoformat(r[2]),
                         strips_left=int(r[3])) for r in rows]


def _box(row: tuple[object, ...]) -> KitBox:
    return KitBox(str(row[0]), str(row[1]), str(row[2]), date.fromisoformat(str(row[3])),
                  int(row[4]), int(row[5]))  # type: ignore[call-overload]
