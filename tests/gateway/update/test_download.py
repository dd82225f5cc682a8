"""Downloads over a link that drops: resumed with HTTP ranges, never spliced, never trusted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gateway.update.download import Downloader, DownloadPolicy
from gateway.update.errors import DownloadError
from tests.support.range_server import range_server

DATA = os.urandom(300_000)
NO_WAIT = {"sleep": lambda s: None}


def _downloader(**policy: object) -> Downloader:
    return Downloader(DownloadPolicy(allow_http=True, **policy), **NO_WAIT)  # type: ignore[arg-type]


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path: Path) -> None:
    dest = tmp_path / "b.tar"
    with range_server({"/b.tar": DATA}) as server:
        server.cuts["/b.tar"] = [120_000]  # the link drops after 120 kB
        result = _downloader().fetch(server.url("/b.tar"), dest)
    assert dest.read_bytes() == DATA
    assert result.attempts == 2 and result.resumed_from == 0
    first, second = server.requests
    assert (first.status, first.sent, first.range) == (200, 120_000, None)
    assert (second.status, second.range) == (206, "bytes=120000-")
    assert second.if_range == server.etag("/b.tar"), "resumes only the same file"
    assert server.bytes_sent == len(DATA), "nothing was fetched twice"
    assert not dest.with_name("b.tar.partial").exists()


def test_a_download_resumes_after_a_restart(tmp_path: Path) -> None:
    """Every attempt of one call fails (the kiosk then restarts, say); the bytes are kept and
    the next call asks for the rest only."""
    dest = tmp_path / "b.tar"
    with range_server({"/b.tar": DATA}) as server:
        server.cuts["/b.tar"] = [50_000, 50_000]
        with pytest.raises(DownloadError, match=r"interrupted after 2 attempt\(s\).*100000 "
                                                 "bytes kept"):
            _downloader(attempts=2).fetch(server.url("/b.tar"), dest)
        assert dest.with_name("b.tar.partial").stat().st_size == 100_000
        result = _downloader(attempts=2).fetch(server.url("/b.tar"), dest)
    assert dest.read_bytes() == DATA
    assert result.resumed_from == 100_000 and result.attempts == 1
    assert server.requests[-1].range == "bytes=100000-" and server.requests[-1].status == 206
    assert server.bytes_sent == len(DATA)


def test_a_file_changed_on_the_server_is_fetched_whole_not_spliced(tmp_path: Path) -> None:
    dest = tmp_path / "b.tar"
    new = os.urandom(200_000)
    with range_server({"/b.tar": DATA}) as server:
        server.cuts["/b.tar"] = [60_000]
        with pytest.raises(DownloadError):
            _downloader(attempts=1).fetch(server.url("/b.tar"), dest)
        server.files["/b.tar"] = new  # republished meanwhile: another ETag
        _downloader().fetch(server.url("/b.tar"), dest)
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(new).digest()
    assert server.requests[-1].status == 200 and server.requests[-1].if_range is not None


def test_a_server_without_ranges_sends_everything_again(tmp_path: Path) -> None:
    dest = tmp_path / "b.tar"
    with range_server({"/b.tar": DATA}) as server:
        server.honour_ranges = False
        server.cuts["/b.tar"] = [100_000]
        _downloader().fetch(server.url("/b.tar"), dest)
    assert dest.read_bytes() == DATA
    assert [r.status for r in server.requests] == [200, 200]


def test_a_complete_download_is_not_fetched_again(tmp_path: Path) -> None:
    dest = tmp_path / "b.tar"
    with range_server({"/b.tar": DATA}) as server:
        _downloader().fetch(server.url("/b.tar"), dest)
        again = _downloader().fetch(server.url("/b.tar"), dest)
    assert again.already_complete and len(server.requests) == 1


def test_missing_bundle_is_not_retried(tmp_path: Path) -> None:
    with range_server({}) as server, \
            pytest.raises(DownloadError, match="HTTP 404") as caught:
        _downloader().fetch(server.url("/nope.tar"), tmp_path / "x.tar")
    assert not caught.value.retryable and len(server.requests) == 1


def test_only_https_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="only https:// URLs"):
        Downloader(**NO_WAIT).fetch("http://127.0.0.1:9/b.tar", tmp_path / "b")  # type: ignore[arg-type]
    with pytest.raises(DownloadError, match="only https:// URLs"):
        _downloader().fetch("file:///etc/passwd", tmp_path / "b")


def test_size_limits(tmp_path: Path) -> None:
    with range_server({"/b.tar": DATA}) as server:
        with pytest.raises(DownloadError, match="more than the 1000 allowed"):
            _downloader(max_bytes=1000).fetch(server.url("/b.tar"), tmp_path / "a")
        with pytest.raises(DownloadError, match="the command said 5"):
            _downloader().fetch(server.url("/b.tar"), tmp_path / "b", expected_size=5)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
