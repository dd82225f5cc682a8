"""Registering kit boxes from their labels: kit by GTIN or id, lot and expiry checked against
the catalogue, serial-less boxes never silently merged, every refusal with a fix."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.kit_labels import (
    RegistrationError,
    format_gs1,
    format_local,
    parse_label,
    register_label,
    typed_label,
)

GTIN = "02990000000019"  # gold-procymidone-v1
KIT = "gold-procymidone-v1"
LOT, EXPIRES = "DEMO-2026A", date(2027, 6, 30)
TODAY = date(2026, 11, 24)


def register(stock, catalogue, code, **kw):
    return register_label(stock, catalogue, parse_label(code), today=TODAY, **kw)


def test_a_gs1_box_is_registered_by_its_gtin(stock, catalogue):
    reg = register(stock, catalogue, format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="B7"))
    assert reg.new and reg.kit.id == KIT
    assert (reg.box.box_code, reg.box.lot, reg.box.expires_on, reg.box.strips_left) == (
        f"{GTIN}/{LOT}/B7", LOT, EXPIRES, 50)
    assert stock.check(KIT, TODAY).lot == LOT


def test_scanning_the_same_box_again_changes_nothing(stock, catalogue):
    code = format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="B7")
    register(stock, catalogue, code)
    stock.take_strip(KIT, TODAY)
    again = register(stock, catalogue, code)
    assert not again.new and again.box.strips_left == 49
    assert len(stock.boxes()) == 1


def test_a_local_label_names_its_kit(stock, catalogue):
    reg = register(stock, catalogue, format_local(KIT, LOT, EXPIRES, 20))
    assert reg.box.box_code == f"{KIT}/{LOT}/#1" and reg.box.strips_total == 20


def test_boxes_without_a_serial_are_never_silently_merged(stock, catalogue):
    code = format_gs1(GTIN, LOT, EXPIRES, strips=50)
    register(stock, catalogue, code)
    with pytest.raises(RegistrationError, match="without a serial") as caught:
        register(stock, catalogue, code)
    assert caught.value.code == "unserialised_rescan" and "--another-box" in caught.value.fix
    second = register(stock, catalogue, code, another_box=True)
    assert second.new and second.box.box_code.endswith("/#2")
    assert sum(b.strips_left for b in stock.boxes()) == 100


@pytest.mark.parametrize("code,error,in_fix", [
    (format_gs1("02990000009999", LOT, EXPIRES, strips=5), "unknown_kit", "catalogue"),
    (format_gs1(GTIN, "LOT-NOT-LISTED", EXPIRES, strips=5), "unknown_lot", "catalogue"),
    (format_local("gold-nothing-v1", LOT, EXPIRES, 5), "unknown_kit", "catalogue"),
    (format_gs1(GTIN, LOT, date(2027, 7, 31), strips=5), "expiry_mismatch", "check the box"),
    (format_gs1(GTIN, "DEMO-2024X", date(2025, 3, 31), strips=5), "expired", "disposal"),
    (format_gs1(GTIN, LOT, EXPIRES), "no_count", "--strips"),
])
def test_refusals_store_nothing_and_say_what_to_do(stock, catalogue, code, error, in_fix):
    with pytest.raises(RegistrationError) as caught:
        register(stock, catalogue, code)
    assert caught.value.code == error
    assert in_fix in caught.value.fix
    assert stock.boxes() == []


def test_a_lot_missing_from_the_catalogue_names_the_catalogue_version(stock, catalogue):
    with pytest.raises(RegistrationError, match=f"version {catalogue.version}"):
        register(stock, catalogue, format_gs1(GTIN, "NEW-LOT", EXPIRES, strips=5))


def test_a_count_given_by_hand_fills_or_overrides_the_label(stock, catalogue):
    reg = register(stock, catalogue, format_gs1(GTIN, LOT, EXPIRES, serial="A1"), strips=12)
    assert reg.box.strips_total == 12
    partly_used = register(stock, catalogue,
                           format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="A2"), strips=30)
    assert partly_used.box.strips_total == 30


def test_a_typed_box_goes_through_the_same_checks(stock, catalogue):
    reg = register_label(stock, catalogue, typed_label(KIT, LOT, EXPIRES, 25, "T1"),
                         today=TODAY)
    assert reg.box.box_code == f"{KIT}/{LOT}/T1"
    with pytest.raises(RegistrationError, match="not in the kit catalogue"):
        register_label(stock, catalogue, typed_label(KIT, "X1", EXPIRES, 25), today=TODAY)


def test_a_copied_serial_with_other_contents_is_refused(stock, catalogue):
    register(stock, catalogue, format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="B7"))
    with pytest.raises(RegistrationError) as caught:
        register(stock, catalogue, format_gs1(GTIN, LOT, EXPIRES, strips=40, serial="B7"),
                 strips=None)
    assert caught.value.code == "box_conflict" and "copied" in str(caught.value)


def test_retiring_a_box_takes_it_out_of_stock(stock, catalogue):
    reg = register(stock, catalogue, format_gs1(GTIN, LOT, EXPIRES, strips=5, serial="R1"))
    stock.retire_box(reg.box.box_code)
    assert stock.boxes() == []
    with pytest.raises(Exception, match="retired"):
        stock.retire_box(reg.box.box_code)


def test_catalogue_gtins_are_unique_and_check_digits_valid(catalogue):
    gtins = [g for kit in catalogue.kits.values() for g in kit.gtins]
    assert len(gtins) == len(set(gtins)) == len(catalogue.kits)
    assert catalogue.kit_for_gtin(GTIN).id == KIT
    assert catalogue.kit_for_gtin(GTIN.lstrip("0")).id == KIT  # GTIN-13 written short


def test_the_catalogue_refuses_bad_or_shared_gtins(tmp_path):
    import shutil

    from gateway.kits import DEFAULT_PATH, KitCatalogueError, load_catalogue

    folder = tmp_path / "cat"
    shutil.copytree(DEFAULT_PATH, folder)
    kits = folder / "kits.toml"
    original = kits.read_text(encoding="utf-8")
    kits.write_text(original.replace('gtins = ["02990000000019"]',
                                     'gtins = ["02990000000018"]'), encoding="utf-8")
    with pytest.raises(KitCatalogueError, match="check digit"):
        load_catalogue(folder)
    kits.write_text(original.replace('gtins = ["02990000000026"]',
                                     'gtins = ["02990000000019"]'), encoding="utf-8")
    with pytest.raises(KitCatalogueError, match="GTIN 02990000000019 is also kit"):
        load_catalogue(folder)
