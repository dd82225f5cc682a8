"""Releases on disk: the links, a half-installed release, adopting a checkout, pruning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.update.layout import LayoutError, ReleaseLayout


def _release(layout: ReleaseLayout, version: str) -> None:
    (layout.venv(version) / "bin").mkdir(parents=True)


def test_switching_moves_both_links(tmp_path: Path) -> None:
    layout = ReleaseLayout(tmp_path)
    for v in ("0.1.0", "0.2.0"):
        _release(layout, v)
    layout.switch_to("0.1.0", previous=None)
    assert (layout.current(), layout.previous()) == ("0.1.0", None)
    layout.switch_to("0.2.0", previous="0.1.0")
    assert (layout.current(), layout.previous()) == ("0.2.0", "0.1.0")
    assert os.readlink(layout.current_link) == "releases/0.2.0", "relative: the root may move"
    with pytest.raises(LayoutError, match=r"0.9.0 is not installed"):
        layout.switch_to("0.9.0", previous="0.2.0")
    assert layout.current() == "0.2.0"


def test_a_half_installed_release_is_not_a_release(tmp_path: Path) -> None:
    layout = ReleaseLayout(tmp_path)
    _release(layout, "0.1.0")
    layout.switch_to("0.1.0", previous=None)
    staging = layout.staging_dir("0.2.0")
    (staging / ".venv").mkdir()
    assert layout.installed() == ["0.1.0"] and layout.incomplete() == ["0.2.0"]
    with pytest.raises(LayoutError, match="in use"):
        layout.staging_dir("0.1.0")  # never reinstall over the running release
    with pytest.raises(LayoutError, match=r"0.2.0 is not installed"):
        layout.switch_to("0.2.0", previous="0.1.0")
    layout.prune()
    assert not staging.exists(), "a crash's leftover goes at the next prune"
    staging = layout.staging_dir("0.2.0")
    (staging / ".venv").mkdir()
    layout.commit_staging("0.2.0")
    assert layout.installed() == ["0.1.0", "0.2.0"]


def test_adopting_a_checkout_and_pruning_never_deletes_it(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").touch()
    layout = ReleaseLayout(tmp_path / "opt")
    layout.adopt("0.1.0", checkout)
    assert layout.current() == "0.1.0" and layout.installed() == ["0.1.0"]
    with pytest.raises(LayoutError, match="already points"):
        layout.adopt("0.1.0", checkout)
    for v in ("0.2.0", "0.3.0"):
        _release(layout, v)
    layout.switch_to("0.2.0", previous="0.1.0")
    layout.switch_to("0.3.0", previous="0.2.0")
    assert layout.prune() == ["0.1.0"]
    assert (checkout / ".venv" / "bin" / "python").exists(), "only the link went"
    with pytest.raises(LayoutError, match="in use"):
        layout.remove("0.3.0")


def test_a_version_cannot_name_a_path_outside(tmp_path: Path) -> None:
    with pytest.raises(LayoutError):
        ReleaseLayout(tmp_path).release_dir("../../etc")
