"""A catalogue that is wrong anywhere refuses to load, saying which file, record and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.kits import DEFAULT_PATH, KitCatalogueError, load_catalogue


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_PATH, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_copy_loads(folder: Path) -> None:
    assert load_catalogue(folder).kit("gold-procymidone-v1")


@pytest.mark.parametrize("file,old,new,message", [
    ("kits.toml", "cutoff_low = 0.80, cutoff_high = 1.00",
     "cutoff_low = 1.20, cutoff_high = 1.00", "cutoff_low 1.2 is above cutoff_high 1.0"),
    ("kits.toml", 'mode = "tc_ratio", cutoff_low = 0.80', 'mode = "sandwich_threshold", '
     'cutoff_low = 0.80', "does not suit a competitive kit"),
    ("kits.toml", 'id = "gold-chlorpyrifos-v1"', 'id = "gold-procymidone-v1"',
     "duplicate id 'gold-procymidone-v1'"),
    ("kits.toml", 'id = "gold-procymidone-v1"', 'id = "gold procymidone"',
     "kits[0] (gold procymidone): id: String should match pattern"),
    ("kits.toml", 'analytes = ["procymidone"]', 'analytes = ["durian"]',
     "unknown analyte 'durian'"),
    ("kits.toml", 'cassette = "single-72x22"', 'cassette = "round"', "unknown cassette"),
    ("kits.toml", "{ lot = \"DEMO-2026A\", expires_on = 2027-06-30 }",
     "{ lot = \"DEMO-2026A\", expires_on = 2027-06-30, cutoff_low = 1.5 }",
     "lot DEMO-2026A: cutoff_low 1.5 is above cutoff_high 1.0"),
    ("kits.toml", "detection_limit = 0.2\n", "detection_limit = -0.2\n",
     "detection_limit: Input should be greater than 0"),
    ("cassettes.toml", "t_mm = 6.0, c_mm = 11.0", "t_mm = 15.8, c_mm = 11.0",
     "t_mm=15.8 must lie within the window"),
    ("cassettes.toml", "t_mm = 6.0, c_mm = 11.0", "t_mm = 10.0, c_mm = 11.0",
     "closer than 2.5 line widths"),
    ("products.toml", 'analytes = ["procymidone",', 'analytes = ["durian",',
     "product chives: unknown analyte 'durian'"),
    ("products.toml", 'picture = "chives.svg"', 'picture = "chives.gif"', "picture"),
    ("limits.toml", "mrl = 0.2\n", "mrl = 0.2\nbanned = true\n",
     "either an mrl (with unit) or banned"),
    ("limits.toml", 'products = ["chives"]', 'products = ["durian"]',
     "unknown product 'durian'"),
    ("analytes.toml", 'kind = "pesticide"', 'kind = "poison"', "kind: Input should be"),
    ("catalogue.toml", "schema = 1", "schema = 2", "schema must be 1"),
    ("kits.toml", "[[kits]]", "[[kits]", "not valid TOML"),
])
def test_invalid_catalogue_is_refused_with_where(folder: Path, file: str, old: str, new: str,
                                                  message: str) -> None:
    edit(folder / file, old, new)
    with pytest.raises(KitCatalogueError) as err:
        load_catalogue(folder)
    assert message in str(err.value)
    assert file in str(err.value)


def test_missing_file_or_folder(folder: Path, tmp_path: Path) -> None:
    (folder / "limits.toml").unlink()
    with pytest.raises(KitCatalogueError, match=r"limits\.toml: missing"):
        load_catalogue(folder)
    with pytest.raises(KitCatalogueError, match="not a kit catalogue folder"):
        load_catalogue(tmp_path / "nowhere")


def test_analyte_without_kit_is_refused(folder: Path) -> None:
    text = (folder / "kits.toml").read_text(encoding="utf-8")
    start = text.index('[[kits]]\nid = "gold-diazepam-v1"')
    end = text.index("[[kits]]", start + 5)
    (folder / "kits.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(KitCatalogueError, match="no kit for analyte 'diazepam'"):
        load_catalogue(folder)


def test_lot_figures_override_the_kit(folder: Path) -> None:
    edit(folder / "kits.toml", "{ lot = \"DEMO-2026A\", expires_on = 2027-06-30 }",
         "{ lot = \"DEMO-2026A\", expires_on = 2027-06-30, cutoff_low = 0.7, "
         "incubation_s = 720 }")
    cat = load_catalogue(folder)
    kit = cat.kit("gold-procymidone-v1", "DEMO-2026A")
    assert kit.decision.cutoff_low == 0.7 and kit.decision.cutoff_high == 1.0
    assert kit.incubation_s == 720
    assert cat.kit("gold-procymidone-v1").decision.cutoff_low == 0.8  # the kit is unchanged
