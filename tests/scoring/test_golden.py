"""Golden readings of the checked-in fixture scenes (see make_fixtures.py to regenerate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.kits import Catalogue
from gateway.scoring import load_frame, score_windows

HERE = Path(__file__).with_name("fixtures")
EXPECTED = json.loads((HERE / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["fixtures"]))
def test_fixture_reading_is_pinned(name: str, catalogue: Catalogue) -> None:
    entry = EXPECTED["fixtures"][name]
    frame = load_frame(HERE / entry["file"])
    results = score_windows([frame], catalogue.kit(entry["kit"]))
    assert len(results) == len(entry["readings"])
    for r, want, truth in zip(results, entry["readings"], entry["truth_t_c"] or [None],
                              strict=False):
        assert r.call.value == want["call"]
        assert r.reason_codes == want["reason_codes"]
        if want["t_c_ratio"] is None:
            assert r.t_c_ratio is None
        else:
            assert r.t_c_ratio == pytest.approx(want["t_c_ratio"], abs=EXPECTED["tolerance"])
        if r.call.value != "invalid" and truth is not None:
            assert r.t_c_ratio == pytest.approx(truth, abs=0.03)  # and still near the truth


def test_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for p in HERE.iterdir())
    assert total < 2_000_000
