"""GS1 kit box codes: element strings with AIs (01) GTIN, (10) lot, (17) expiry, (21) serial
and (30) count, parsed with biip (check digits and the GS1 date rules included).

Three spellings are accepted, as scanners deliver them:

- raw: ``01029900000000191727063010LOT1<GS>21B0001<GS>3050`` — variable-length fields end with
  the GS character (0x1d, the FNC1 separator); a leading GS or a symbology identifier such as
  ``]Q3`` (GS1 QR Code) or ``]d2`` (GS1 DataMatrix) is dropped;
- bracketed (the human-readable line under the code): ``(01)02990000000019(17)270630(10)LOT1``;
- a GS1 Digital Link URI: ``https://id.gs1.org/01/02990000000019/10/LOT1?17=270630``.

A code cut short is caught when a fixed-length field or a required AI is missing; a variable
field cut at its end cannot be told from a shorter one by the code alone, which is why the lot
must then also be found in the kit catalogue (``gateway.kit_labels.register``).
"""

from __future__ import annotations

import re
from datetime import date

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message

from ._label import KitLabel, LabelError, check_lot, check_serial, check_strips

GS = "\x1d"
SYMBOLOGY_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
HRI_SHAPE = re.compile(r"(?:\(\d{2,4}\)[^()]+)+")
REQUIRED = {"01": "GTIN", "10": "lot", "17": "expiry date"}


def looks_like_gs1(code: str) -> bool:
    """Whether ``code`` is written as a GS1 code at all (to choose the error message)."""
    text = _strip_prefixes(code.strip())
    return bool(text) and (text.startswith("(") or text[:2].isdigit()
                           or text.lower().startswith(("http://", "https://")))


def _strip_prefixes(text: str) -> str:
    text = SYMBOLOGY_ID.sub("", text, count=1)
    return text.lstrip(GS)


def _message(text: str) -> GS1Message:
    try:
        if text.startswith("("):
            compact = "".join(text.split())
            if not HRI_SHAPE.fullmatch(compact):
                raise LabelError(f"the code {text!r} is cut short or malformed: every (AI) "
                                 "needs a value")
            return GS1Message.parse_hri(compact)
        if text.lower().startswith(("http://", "https://")):
            return GS1DigitalLinkURI.parse(text).as_gs1_message()
        return GS1Message.parse(text)
    except ParseError as exc:
        raise LabelError(f"not a valid GS1 code: {_plain(str(exc))}") from None


AI_SHAPES = {"01": "the GTIN must be 14 digits", "17": "the expiry date must be 6 digits YYMMDD",
             "10": "the lot must be 1-20 letters, digits or - . _ /",
             "21": "the serial must be 1-20 characters", "30": "the count must be 1-8 digits"}
_MISMATCH = re.compile(r"Failed to match '(?P<data>[^']*)' with GS1 AI \((?P<ai>\d+)\)")


def _plain(message: str) -> str:
    """biip's message, said plainly for the AIs a kit box carries."""
    found = _MISMATCH.search(message)
    if found is None or found["ai"] not in AI_SHAPES:
        return message
    ai = found["ai"]
    value = found["data"].removeprefix(ai)
    return f"({ai}) {value!r}: {AI_SHAPES[ai]} (cut short or misprinted?)"


def parse_gs1(code: str) -> KitLabel:
    """Read a GS1 kit box code.

    Raises:
        LabelError: not a GS1 code, a wrong check digit or date, a required AI missing (cut
            short), an AI given twice, or a lot or count the kiosk cannot use.
    """
    text = _strip_prefixes(code.strip())
    if not text:
        raise LabelError("the scanned code is empty")
    message = _message(text)
    values: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for es in message.element_strings:
        ai = es.ai.ai
        if ai in values:
            raise LabelError(f"AI ({ai}) appears twice in {text!r}",
                             fix="the label is misprinted: type the box in with nongan kits add")
        values[ai] = es.value
        dates[ai] = es.date
        if ai == "01" and es.gtin is None:
            raise LabelError(f"GTIN {es.value} is not valid: {es.gtin_error}")
    missing = [f"({ai}) {name}" for ai, name in REQUIRED.items() if ai not in values]
    if missing:
        raise LabelError(f"the GS1 code has no {', '.join(missing)}: cut short, or not a kit "
                         "box code")
    expires = dates["17"]
    if expires is None:  # pragma: no cover - biip refuses an invalid (17) date first
        raise LabelError(f"expiry (17) {values['17']} is not a date")
    strips = None
    if "30" in values:
        if not values["30"].isdigit():
            raise LabelError(f"count (30) {values['30']!r} is not a number: cut short?")
        strips = check_strips(int(values["30"]))
    serial = check_serial(values["21"]) if values.get("21") else None
    if "21" in values and not values["21"]:
        raise LabelError("serial (21) is empty: cut short?")
    return KitLabel(form="gs1", gtin=values["01"], lot=check_lot(values["10"]),
                    expires_on=expires, strips=strips, serial=serial, raw=code)


def format_gs1(gtin: str, lot: str, expires_on: date, *, strips: int | None = None,
               serial: str | None = None, bracketed: bool = False) -> str:
    """A kit box code as a maker prints it (raw with GS separators, or bracketed).

    Fixed-length fields come first, so only the variable ones need a separator.
    """
    fields = [("01", gtin), ("17", expires_on.strftime("%y%m%d")), ("10", lot)]
    if serial is not None:
        fields.append(("21", serial))
    if strips is not None:
        fields.append(("30", str(strips)))
    if bracketed:
        return "".join(f"({ai}){value}" for ai, value in fields)
    # A variable-length field is ended by GS, except the last one, which the code's end ends.
    return "".join(ai + value + (GS if ai in ("10", "21", "30") else "")
                   for ai, value in fields).removesuffix(GS)
