from datetime import date

import pytest

from gateway.kit_stock import KitStockBook, KitUnavailable, StockError

TODAY = date(2026, 11, 24)


@pytest.fixture
def stock(gateway):
    return KitStockBook(gateway.books.db)


def test_no_stock_expired_exhausted_each_have_a_reason(stock):
    with pytest.raises(KitUnavailable, match="no box") as caught:
        stock.take_strip("kit-a", TODAY)
    assert caught.value.code == "no_stock"
    stock.register_box(box_code="B1", kit_id="kit-a", lot="L1", expires_on=date(2026, 11, 1),
                       strips=5)
    with pytest.raises(KitUnavailable, match="expired") as caught:
        stock.take_strip("kit-a", TODAY)
    assert caught.value.code == "expired"
    stock.register_box(box_code="B2", kit_id="kit-a", lot="L2", expires_on=date(2027, 1, 1),
                       strips=1)
    assert stock.take_strip("kit-a", TODAY).box_code == "B2"
    with pytest.raises(KitUnavailable, match="used up") as caught:
        stock.check("kit-a", TODAY)
    assert caught.value.code == "exhausted"


def test_first_expiring_box_is_used_first_and_counts_are_logged(stock, gateway):
    stock.register_box(box_code="LATE", kit_id="kit-a", lot="L9", expires_on=date(2027, 9, 1),
                       strips=3)
    stock.register_box(box_code="SOON", kit_id="kit-a", lot="L1", expires_on=date(2027, 1, 1),
                       strips=2)
    taken = [stock.take_strip("kit-a", TODAY, session_id="s").box_code for _ in range(4)]
    assert taken == ["SOON", "SOON", "LATE", "LATE"]
    assert {(s.lot, s.strips_left) for s in stock.summary()} == {("L1", 0), ("L9", 1)}
    with gateway.books.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM strip_uses").fetchone()[0] == 4


def test_rescanning_a_box_changes_nothing_but_a_copied_label_is_refused(stock):
    args = {"box_code": "B1", "kit_id": "kit-a", "lot": "L1", "expires_on": date(2027, 1, 1),
            "strips": 20}
    stock.register_box(**args)
    stock.take_strip("kit-a", TODAY)
    assert stock.register_box(**args).strips_left == 19
    with pytest.raises(StockError, match="copied"):
        stock.register_box(**{**args, "lot": "L2"})


@pytest.mark.parametrize("strips", [0, -1, 10_001])
def test_impossible_counts_are_refused(stock, strips):
    with pytest.raises(StockError):
        stock.register_box(box_code="B", kit_id="k", lot="L", expires_on=TODAY, strips=strips)
