"""Division codes: levels, parents and the wire spelling, without any data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from protocol.messages import PlaceCode
from protocol.places import InvalidPlaceCode, Level, lineage, normalise, parent_of, wire_code
from protocol.places.codes import child_range, level_of, level_of_short


@pytest.mark.parametrize(("given_code", "short"), [
    ("37", "37"), ("370000", "37"), ("3709", "3709"), ("370900", "3709"),
    ("370902", "370902"), ("370902000000", "370902"), ("370902001", "370902001"),
    ("370902001000", "370902001"), ("370902001001", "370902001001"), (" 370902 ", "370902"),
    ("441900", "4419"),  # the city itself; the data's county-level copy is a grouping
])
def test_every_spelling_normalises_to_the_short_code(given_code: str, short: str) -> None:
    assert normalise(given_code) == short


@pytest.mark.parametrize("bad", ["", "3", "370", "37090", "3709020011", "03", "012345",
                                 "37a902", "三七", "370902001001001", "３７"])
def test_malformed_codes_are_refused_with_a_value_error(bad: str) -> None:
    with pytest.raises(InvalidPlaceCode, match="not a division code"):
        normalise(bad)
    with pytest.raises(ValueError):
        level_of(bad)


def test_levels_parents_and_lineage() -> None:
    assert level_of("370902001") is Level.TOWN and Level.TOWN.digits == 9
    assert level_of("370000") is Level.PROVINCE
    assert parent_of("370902001001") == "370902001"
    assert parent_of("370902") == "3709"
    assert parent_of("37") is None
    assert lineage("370902001001") == ["37", "3709", "370902", "370902001", "370902001001"]


def test_child_range_does_not_fold_a_stored_county_copy_into_its_city() -> None:
    # 441900 (东莞市, county-level copy) holds the towns 441900xxx; 4419 holds 4419xx.
    assert child_range("441900") == (441900000, 441900999)
    assert child_range("4419") == (441900, 441999)
    assert child_range("370902001001") is None
    assert level_of_short("441900") is Level.COUNTY and level_of("441900") is Level.CITY


segments = st.tuples(st.integers(1, 8), st.integers(1, 9), st.integers(1, 99),
                     st.integers(1, 99), st.integers(1, 999), st.integers(1, 999))


@given(segments, st.integers(1, 5))
def test_wire_spelling_is_a_valid_place_code_and_reads_back(parts: tuple[int, ...],
                                                            depth: int) -> None:
    region, province, city, county, town, village = parts
    full = f"{region}{province}{city:02d}{county:02d}{town:03d}{village:03d}"
    short = full[: (2, 4, 6, 9, 12)[depth - 1]]
    wired = wire_code(short)
    TypeAdapter(PlaceCode).validate_python(wired)  # what certificates carry
    assert normalise(wired) == short
    assert level_of(wired) is Level(depth)
