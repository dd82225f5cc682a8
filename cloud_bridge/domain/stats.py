"""Statistics for the dashboard: tests and positives by day, product, analyte and place.

Days are China Standard Time (UTC+8) days of the cloud's receive time, so a kiosk clock that
reads 1970 cannot put a test on the wrong day. Grouping is done by the database (one query per
figure), with a dialect-specific day expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import CertificateRecord, Device, StripReadingRecord
from cloud_bridge.store.types import utcnow

from .times import CHINA_UTC_HOURS

DAY_OFFSET = timedelta(hours=CHINA_UTC_HOURS)


@dataclass
class Stats:
    since: date
    days: list[date] = field(default_factory=list)
    tests_by_day: dict[date, int] = field(default_factory=dict)
    positives_by_day: dict[date, int] = field(default_factory=dict)
    certificates_by_day: dict[date, int] = field(default_factory=dict)
    positives_by_product: list[tuple[str, int]] = field(default_factory=list)
    positives_by_analyte: list[tuple[str, int]] = field(default_factory=list)
    positives_by_place: list[tuple[str, int]] = field(default_factory=list)
    tests_by_product: list[tuple[str, int]] = field(default_factory=list)
    invalid_by_day: dict[date, int] = field(default_factory=dict)

    @property
    def total_tests(self) -> int:
        return sum(self.tests_by_day.values())

    @property
    def total_positives(self) -> int:
        return sum(self.positives_by_day.values())

    @property
    def total_certificates(self) -> int:
        return sum(self.certificates_by_day.values())


def day_of(session: Session, column: Any) -> ColumnElement[str]:
    """The local (UTC+8) day of a UTC timestamp column, as ISO text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        shifted = column + literal_column(f"interval '{CHINA_UTC_HOURS} hours'")
        return func.to_char(cast(shifted, Date), "YYYY-MM-DD")
    return func.date(column, f"+{CHINA_UTC_HOURS} hours")


def local_day(at: datetime) -> date:
    return (at + DAY_OFFSET).date()


def stats(session: Session, *, days: int = 30, now: datetime | None = None) -> Stats:
    """Figures over the last ``days`` local days (today included)."""
    now = now or utcnow()
    today = local_day(now)
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo) - DAY_OFFSET
    out = Stats(since=first, days=[first + timedelta(days=i) for i in range(days)])
    r = StripReadingRecord
    in_window = r.recorded_at >= start
    day = day_of(session, r.recorded_at)
    for d, total, pos, bad in session.execute(
        select(day, func.count(), func.count().filter(r.call == "positive"),
               func.count().filter(r.call == "invalid"))
        .where(in_window).group_by(day)
    ).all():
        key = date.fromisoformat(str(d))
        out.tests_by_day[key], out.positives_by_day[key], out.invalid_by_day[key] = (
            total, pos, bad)
    c = CertificateRecord
    cday = day_of(session, c.recorded_at)
    for d, n in session.execute(
        select(cday, func.count()).where(c.recorded_at >= start).group_by(cday)
    ).all():
        out.certificates_by_day[date.fromisoformat(str(d))] = n
    positive = in_window & (r.call == "positive")
    out.positives_by_product = _top(session, r.product_code, positive)
    out.positives_by_analyte = _top(session, r.analyte_code, positive)
    out.tests_by_product = _top(session, r.product_code, in_window)
    out.positives_by_place = [(p, n) for p, n in session.execute(
        select(Device.place_code, func.count()).select_from(r)
        .join(Device, Device.id == r.device_id)
        .where(positive).group_by(Device.place_code)
        .order_by(func.count().desc(), Device.place_code).limit(10)).all()]
    return out


def _top(session: Session, column: Any, where: ColumnElement[bool],
         limit: int = 10) -> list[tuple[str, int]]:
    return [(k, n) for k, n in session.execute(
        select(column, func.count()).where(where).group_by(column)
        .order_by(func.count().desc(), column).limit(limit)).all()]
