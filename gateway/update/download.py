"""Fetching a bundle over HTTP(S) so that an interrupted download resumes where it stopped.

The bytes go to ``<name>.partial`` beside the destination, flushed to disk after every
attempt. The next attempt — in the same call after a short backoff, or in a later call after a
restart — asks only for the rest (``Range: bytes=N-``) and sends the validator of the response
that started the file (``If-Range`` with its ETag, else its Last-Modified): if the file on the
server has changed since, the server answers with the whole new file (200) and the partial
bytes are dropped, so a download never splices two different files. A server that ignores
ranges simply sends everything again. Only a complete file is renamed to the destination.

Integrity does not rest on the transport: the bundle's manifest is signed and every file in it
is hashed (``bundle.verify_bundle``). HTTPS keeps what a kiosk installs private and stops a
man in the middle from wasting its download; plain HTTP is refused unless a setting allows it
(a loopback server in tests and the demo).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .errors import DownloadError

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class DownloadResult:
    """A complete download.

    Attributes:
        path: the complete file.
        size: its size in bytes.
        resumed_from: bytes already on disk when this call started (0: a fresh download).
        attempts: requests made by this call.
        already_complete: the file was complete before the call (nothing fetched).
    """

    path: Path
    size: int
    resumed_from: int
    attempts: int
    already_complete: bool = False


@dataclass
class DownloadPolicy:
    """How hard to try (defaults for a village link)."""

    attempts: int = 5
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 60.0
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 60.0
    max_bytes: int = 512 * 1024 * 1024
    allow_http: bool = False


class Downloader:
    """Resumable downloads.

    Args:
        policy: retries, timeouts, size limit, whether plain HTTP is allowed.
        verify: TLS verification for httpx (True, or a CA bundle path).
        sleep: the backoff's sleep (a seam for tests).

    Blocking (network and disk): the updater runs it in a worker thread.
    """

    def __init__(self, policy: DownloadPolicy | None = None, *, verify: bool | str = True,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy or DownloadPolicy()
        self.verify = verify
        self._sleep = sleep

    def partial_path(self, dest: Path) -> Path:
        return dest.with_name(dest.name + ".partial")

    def _validator_path(self, dest: Path) -> Path:
        return dest.with_name(dest.name + ".validator")

    def fetch(self, url: str, dest: Path, *, expected_size: int | None = None
                    ) -> DownloadResult:
        """Download ``url`` to ``dest``, resuming a partial file left by an earlier attempt.

        Raises:
            DownloadError: every attempt failed (what arrived is kept for the next call), or
                the server refused (4xx; not retryable), or the file is too large.
        """
        self._check_url(url)
        if dest.exists():
            return DownloadResult(dest, dest.stat().st_size, dest.stat().st_size, 0, True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = self.partial_path(dest)
        start = partial.stat().st_size if partial.exists() else 0
        timeout = httpx.Timeout(self.policy.read_timeout_s,
                                connect=self.policy.connect_timeout_s)
        backoff = self.policy.backoff_initial_s
        last_error = "no attempt made"
        attempts = 0
        with httpx.Client(timeout=timeout, verify=self.verify,
                          follow_redirects=True) as client:
            while attempts < self.policy.attempts:
                attempts += 1
                try:
                    done = self._attempt(client, url, dest, partial, expected_size)
                except DownloadError as exc:
                    if not exc.retryable:
                        raise
                    last_error = exc.reason
                except httpx.HTTPError as exc:
                    last_error = f"{type(exc).__name__}: {exc}" if str(exc) else \
                        type(exc).__name__
                else:
                    if done:
                        size = dest.stat().st_size
                        return DownloadResult(dest, size, start, attempts)
                    continue  # the partial was dropped (changed on the server): go again
                have = partial.stat().st_size if partial.exists() else 0
                log.warning("download of %s interrupted at %d bytes (attempt %d of %d): %s",
                            url, have, attempts, self.policy.attempts, last_error)
                if attempts < self.policy.attempts:
                    self._sleep(random.uniform(0, backoff))
                    backoff = min(backoff * 2, self.policy.backoff_max_s)
        have = partial.stat().st_size if partial.exists() else 0
        raise DownloadError(f"download interrupted after {attempts} attempt(s): {last_error}; "
                            f"{have} bytes kept, the next attempt resumes from there")

    def _check_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme == "https" or (scheme == "http" and self.policy.allow_http):
            return
        raise DownloadError(f"refusing to download from {url!r}: only https:// URLs are "
                            "allowed", retryable=False)

    def _attempt(self, client: httpx.Client, url: str, dest: Path, partial: Path,
                       expected_size: int | None) -> bool:
        """One request. Returns True when the file is complete, False when the partial file
        was discarded and the caller should start again."""
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Accept-Encoding": "identity"}
        validator = self._read_validator(dest) if have else None
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:
                # Our partial file is as long as (or longer than) the file: start over unless
                # it is exactly the expected size.
                if expected_size is not None and have == expected_size:
                    self._finish(partial, dest)
                    return True
                self._discard(partial, dest)
                return False
            if 400 <= response.status_code < 500:
                raise DownloadError(f"the server refused the download: HTTP "
                                    f"{response.status_code} for {url}", retryable=False)
            if response.status_code >= 500:
                raise DownloadError(f"server error HTTP {response.status_code}")
            if response.status_code == 206 and have:
                first = _content_range_start(response.headers.get("content-range", ""))
                if first != have:
                    raise DownloadError(f"the server resumed at byte {first}, not {have}")
                mode = "ab"
            elif response.status_code == 200:
                if have:
                    log.info("the server sent the whole file again (changed, or no ranges): "
                             "dropping %d partial bytes", have)
                mode, have = "wb", 0
                self._write_validator(dest, response.headers)
            else:
                raise DownloadError(f"unexpected HTTP {response.status_code} from {url}")
            total = _total_size(response, have)
            limit = self.policy.max_bytes
            if total is not None and total > limit:
                raise DownloadError(f"the bundle is {total} bytes, more than the {limit} "
                                    "allowed", retryable=False)
            if expected_size is not None and total is not None and total != expected_size:
                raise DownloadError(f"the server offers {total} bytes, the command said "
                                    f"{expected_size}", retryable=False)
            with partial.open(mode) as out:
                try:
                    # Unchunked: what arrived is written even if the next read fails.
                    for chunk in response.iter_raw():
                        have += len(chunk)
                        if have > limit:
                            raise DownloadError(f"the bundle is larger than the {limit} bytes "
                                                "allowed", retryable=False)
                        out.write(chunk)
                finally:
                    out.flush()
                    os.fsync(out.fileno())
            if total is not None and have < total:
                raise DownloadError(f"the connection closed after {have} of {total} bytes")
        self._finish(partial, dest)
        return True

    def _finish(self, partial: Path, dest: Path) -> None:
        os.replace(partial, dest)
        self._validator_path(dest).unlink(missing_ok=True)

    def _discard(self, partial: Path, dest: Path) -> None:
        partial.unlink(missing_ok=True)
        self._validator_path(dest).unlink(missing_ok=True)

    def _read_validator(self, dest: Path) -> str | None:
        try:
            data = json.loads(self._validator_path(dest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("etag") or data.get("last_modified")
        # A weak ETag may not be used in If-Range (RFC 9110 13.1.5).
        if isinstance(value, str) and not value.startswith("W/"):
            return value
        return None

    def _write_validator(self, dest: Path, headers: httpx.Headers) -> None:
        data = {"etag": headers.get("etag"), "last_modified": headers.get("last-modified")}
        self._validator_path(dest).write_text(json.dumps(data), encoding="utf-8")

    def forget(self, dest: Path) -> None:
        """Remove a download and anything left of it."""
        dest.unlink(missing_ok=True)
        self._discard(self.partial_path(dest), dest)


def _content_range_start(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, _, rest = value.partition(" ")
        if unit != "bytes":
            return None
        return int(rest.split("-", 1)[0])
    except ValueError:
        return None


def _total_size(response: httpx.Response, have: int) -> int | None:
    if response.status_code == 206:
        total = response.headers.get("content-range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length")
    return int(length) if length is not None and length.isdigit() else None
