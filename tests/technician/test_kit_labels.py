"""Kit box labels: GS1 (raw with GS, bracketed, Digital Link) and the nongan NGK1 form; every
half or malformed code is a clear LabelError, never a wrong box."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.kit_labels import (
    GS,
    LabelError,
    format_gs1,
    format_local,
    parse_gs1,
    parse_label,
    parse_local,
)
from gateway.kits.models import gtin_check_digit

GTIN = "02990000000019"  # gold-procymidone-v1 in the shipped catalogue


def test_raw_gs1_as_a_scanner_sends_it():
    code = f"0102990000000019172706301 0DEMO-2026A{GS}21B0001{GS}3050".replace(" ", "")
    label = parse_label(code)
    assert (label.form, label.gtin, label.lot, label.expires_on, label.serial, label.strips) == (
        "gs1", GTIN, "DEMO-2026A", date(2027, 6, 30), "B0001", 50)


@pytest.mark.parametrize("prefix", ["]Q3", "]d2", "]C1", GS])
def test_symbology_identifier_or_leading_fnc1_is_dropped(prefix):
    code = prefix + format_gs1(GTIN, "L1", date(2027, 6, 30), strips=20)
    assert parse_label(code).lot == "L1"


def test_bracketed_form_and_digital_link():
    bracketed = parse_label(f"(01){GTIN}(17)270630(10)L1(21)S9(30)25")
    assert (bracketed.lot, bracketed.serial, bracketed.strips) == ("L1", "S9", 25)
    spaced = parse_label(f"(01) {GTIN} (17) 270630 (10) L1")
    assert spaced.lot == "L1" and spaced.strips is None
    link = parse_label(f"https://id.gs1.org/01/{GTIN}/10/L1/21/S9?17=270630&30=25")
    assert (link.gtin, link.lot, link.serial, link.strips, link.expires_on) == (
        GTIN, "L1", "S9", 25, date(2027, 6, 30))


def test_day_00_means_the_end_of_the_month():
    assert parse_gs1(f"(01){GTIN}(17)270200(10)L1").expires_on == date(2027, 2, 28)


@pytest.mark.parametrize("code,match", [
    (f"(01){GTIN}(17)270630", r"no \(10\) lot"),
    (f"(01){GTIN}(10)L1", r"no \(17\) expiry"),
    ("(17)270630(10)L1", r"no \(01\) GTIN"),
    (f"(01){GTIN}(17)270630(10)", "cut short or malformed"),
    (f"(01){GTIN[:-1]}(17)270630(10)L1", "not a valid GS1 code"),
    (f"(01){GTIN[:-1]}8(17)270630(10)L1", "check digit"),
    (f"(01){GTIN}(17)271332(10)L1", "not a valid GS1 code"),
    ("0102990000000019172706", "not a valid GS1 code"),
    (f"(01){GTIN}(17)270630(10)L1(10)L2", "appears twice"),
    (f"(01){GTIN}(17)270630(10)L/1", "characters the kiosk cannot record"),
    (f"(01){GTIN}(17)270630(10)L1(30)0", "1 to 10000 strips"),
    ("NGK1|gold-x|L1", "3 of at least 5 fields"),
    ("NGK1|gold-x|L1|2027-06-30|50|S1|extra", "at most 6"),
    ("NGK2|gold-x|L1|2027-06-30|50", "version"),
    ("NGK1|gold x|L1|2027-06-30|50", "kit id"),
    ("NGK1|gold-x|L1|2027-02-30|50", "not a date"),
    ("NGK1|gold-x|L1|20270630|50", "YYYY-MM-DD"),
    ("NGK1|gold-x|L1|2027-06-30|fifty", "not a whole number"),
    ("NGK1|gold-x|L1|2027-06-30|50|has space", "serial"),
    ("P:producer-card-42", "not a kit box label"),
    ("", "not a kit box label"),
])
def test_bad_codes_say_what_is_wrong(code, match):
    with pytest.raises(LabelError, match=match) as caught:
        parse_label(code)
    assert caught.value.fix


def test_local_label_round_trip():
    text = format_local("gold-procymidone-v1", "DEMO-2026A", date(2027, 6, 30), 50, "B1")
    assert text == "NGK1|gold-procymidone-v1|DEMO-2026A|2027-06-30|50|B1"
    label = parse_local(text)
    assert (label.kit_id, label.lot, label.strips, label.serial) == (
        "gold-procymidone-v1", "DEMO-2026A", 50, "B1")
    assert parse_label(text.removesuffix("|B1")).serial is None


# ------------------------------------------------------------------ property tests

codes = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=20)
serials = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=20)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2049, 12, 31)).filter(
    lambda d: True)


@st.composite
def gtins(draw: st.DrawFn) -> str:
    payload = draw(st.text(alphabet=string.digits, min_size=13, max_size=13))
    return payload + str(gtin_check_digit(payload))


@settings(max_examples=200, deadline=None)
@given(gtin=gtins(), lot=codes, expires=dates, strips=st.none() | st.integers(1, 10_000),
       serial=st.none() | serials, bracketed=st.booleans())
def test_gs1_round_trip(gtin, lot, expires, strips, serial, bracketed):
    code = format_gs1(gtin, lot, expires, strips=strips, serial=serial, bracketed=bracketed)
    label = parse_label(code)
    assert (label.gtin, label.lot, label.expires_on, label.strips, label.serial) == (
        gtin, lot, expires, strips, serial)


@settings(max_examples=200, deadline=None)
@given(gtin=gtins(), lot=codes, expires=dates, strips=st.integers(1, 10_000), serial=serials,
       cut=st.integers(min_value=1))
def test_a_cut_raw_code_is_refused_or_differs_only_in_its_last_field(gtin, lot, expires,
                                                                    strips, serial, cut):
    full = format_gs1(gtin, lot, expires, strips=strips, serial=serial)
    cut = cut % len(full)  # a proper prefix, possibly empty
    part = full[:cut]
    try:
        label = parse_label(part)
    except LabelError:
        return
    # GS1 cannot mark the end of the last variable-length field, and (21) and (30) are
    # optional: a cut inside or after a variable field parses, with the last field present
    # shorter and the later ones missing. The fixed-length fields must be exactly right, and
    # nothing may differ from the label but by being cut.
    assert full.startswith(part)
    assert (label.gtin, label.expires_on) == (gtin, expires)
    assert lot.startswith(label.lot)
    if label.lot != lot:
        assert label.serial is None and label.strips is None
    if label.serial is not None:
        assert serial.startswith(label.serial)
        if label.serial != serial:
            assert label.strips is None
    else:
        assert label.strips is None
    if label.strips is not None:
        assert str(strips).startswith(str(label.strips))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_a_label_or_a_label_error(text):
    try:
        parse_label(text)
    except LabelError as exc:
        assert str(exc) and exc.fix


@settings(max_examples=200, deadline=None)
@given(kit=codes, lot=codes, expires=dates, strips=st.integers(1, 10_000),
       serial=st.none() | serials, cut=st.integers(min_value=1))
def test_a_cut_local_label_is_refused_unless_cut_inside_its_last_field(kit, lot, expires,
                                                                      strips, serial, cut):
    full = format_local(kit, lot, expires, strips, serial)
    part = full[: cut % len(full)]
    try:
        label = parse_label(part)
    except LabelError:
        return
    assert (label.kit_id, label.lot, label.expires_on) == (kit, lot, expires)
    if serial is None or label.serial is None:
        assert str(strips).startswith(str(label.strips))
    else:
        assert serial.startswith(label.serial)
