"""The shipped kit catalogue: complete for DOMAIN.md's priority list, consistent, with
working look-ups, lots and dated limits."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import TypeAdapter

from device_drivers.strip_sim import multi_strip_card, single_strip_cassette
from gateway.kits import (
    Catalogue,
    LotExpiredError,
    Mode,
    UnknownCodeError,
    load_catalogue,
    sim_geometry,
)
from protocol.messages import Code

# DOMAIN.md, "Priority products and their risk analytes".
PRIORITY = {
    "chives": {"procymidone", "chlorpyrifos", "phorate", "carbofuran", "omethoate"},
    "celery": {"chlorpyrifos", "phorate", "carbofuran", "omethoate", "cyhalothrin"},
    "cowpea": {"cyromazine", "clothianidin", "thiamethoxam", "fenthion", "emamectin",
               "carbofuran", "omethoate", "isocarbophos"},
    "eggs": {"florfenicol", "enrofloxacin", "ofloxacin", "metronidazole", "aoz", "fipronil"},
    "silkie_chicken": {"enrofloxacin", "ofloxacin", "amantadine"},
    "beef_cattle": {"clenbuterol", "ractopamine", "salbutamol"},
    "sheep": {"clenbuterol", "ractopamine", "salbutamol"},
    **{fish: {"malachite_green", "nitrofurans", "chloramphenicol", "enrofloxacin",
              "ofloxacin", "diazepam"}
       for fish in ("largemouth_bass", "snakehead", "bream", "large_yellow_croaker")},
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def test_every_priority_product_and_analyte(cat: Catalogue) -> None:
    assert set(cat.products) == set(PRIORITY)
    for code, analytes in PRIORITY.items():
        product = cat.product(code)
        assert set(product.analytes) == analytes
        assert product.names.zh and product.names.en and product.picture.endswith(".svg")
        for a in cat.analytes_for(code):
            assert a.names.zh and a.names.en
            assert cat.kit_for(a.code).analytes  # every analyte offered has a kit


def test_codes_fit_the_wire_contract(cat: Catalogue) -> None:
    code = TypeAdapter(Code)
    for value in [*cat.products, *cat.analytes, *cat.kits,
                  *(lot.lot for k in cat.kits.values() for lot in k.lots)]:
        code.validate_python(value)


def test_seeded_figures_are_marked_defaults(cat: Catalogue) -> None:
    assert all(k.defaults for k in cat.kits.values())
    assert all(row.verify for row in cat.limits)
    assert "defaults" in cat.version


def test_lookups(cat: Catalogue) -> None:
    assert [a.code for a in cat.analytes_for("chives")][:2] == ["procymidone", "chlorpyrifos"]
    assert cat.kit_for("procymidone").id == "gold-procymidone-v1"
    enro = [k.id for k in cat.kits_for("enrofloxacin")]
    assert enro[0] == "gold-enrofloxacin-v1" and "card-aquatic-4in1-v1" in enro
    card = cat.kit("card-beta-agonists-3in1-v1")
    assert card.windows == 3 and card.analytes[1] == "ractopamine"
    assert card.decision_for(2).mode is Mode.T_DISAPPEARANCE
    aquatic = cat.kit("card-aquatic-4in1-v1")
    assert aquatic.decision_for(3).cutoff_low == 0.70
    with pytest.raises(IndexError):
        aquatic.decision_for(4)
    for bad in (lambda: cat.product("durian"), lambda: cat.analyte("x"),
                lambda: cat.kit("nope"), lambda: cat.lot("gold-procymidone-v1", "NOPE"),
                lambda: cat.kits_for("x")):
        with pytest.raises(UnknownCodeError):
            bad()


def test_lots_and_expiry(cat: Catalogue) -> None:
    kit_id = "gold-procymidone-v1"
    assert cat.check_lot(kit_id, "DEMO-2026A", date(2027, 6, 30)).lot == "DEMO-2026A"
    with pytest.raises(LotExpiredError, match="expired on 2025-03-31"):
        cat.check_lot(kit_id, "DEMO-2024X", date(2025, 4, 1))
    assert [lot.lot for lot in cat.usable_lots(kit_id, date(2025, 1, 1))] == \
        ["DEMO-2024X", "DEMO-2026A"]
    assert [lot.lot for lot in cat.usable_lots(kit_id, date(2026, 1, 1))] == ["DEMO-2026A"]
    resolved = cat.kit(kit_id, "DEMO-2026A")
    assert resolved.lot is not None and resolved.lot.lot == "DEMO-2026A"


def test_limits_follow_their_dates(cat: Catalogue) -> None:
    before = cat.limit_for("chives", "phorate", date(2024, 8, 31))
    after = cat.limit_for("chives", "phorate", date(2024, 9, 1))
    assert before is not None and before.mrl == 0.01 and not before.banned
    assert after is not None and after.banned
    carbofuran = cat.limit_for("cowpea", "carbofuran", date(2026, 5, 31))
    assert carbofuran is not None and not carbofuran.banned
    assert cat.limit_for("cowpea", "carbofuran", date(2026, 6, 1)).banned  # type: ignore[union-attr]
    procymidone = cat.limit_for("chives", "procymidone", date(2025, 6, 1))
    assert procymidone is not None and (procymidone.mrl, procymidone.unit) == (0.2, "mg/kg")
    # A row naming the product wins over the all-products row.
    assert cat.limit_for("eggs", "enrofloxacin", date(2025, 6, 1)).banned  # type: ignore[union-attr]
    fish = cat.limit_for("snakehead", "enrofloxacin", date(2025, 6, 1))
    assert fish is not None and fish.mrl == 100.0 and fish.unit == "µg/kg"
    assert cat.limit_for("celery", "procymidone", date(2025, 6, 1)) is None


def test_catalogue_layouts_match_the_simulator(cat: Catalogue) -> None:
    assert sim_geometry(cat.kit("gold-procymidone-v1")) == single_strip_cassette()
    assert sim_geometry(cat.kit("card-beta-agonists-3in1-v1")) == multi_strip_card(3)
    assert sim_geometry(cat.kit("card-aquatic-4in1-v1")) == multi_strip_card(4)
