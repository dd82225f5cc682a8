"""The host side of the reader controller's JSON-lines protocol (hardware/PROTOCOL.md).

Pure functions: encode a request, classify a received line. Anything that is not a protocol
message — MicroPython banners, tracebacks, soft-reboot lines, half a line cut by a reset,
garbage bytes — classifies as ``None`` and is ignored by the driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
MAX_LINE = 256  # the firmware drops longer lines


@dataclass(frozen=True)
class Reply:
    """The board's answer to request ``id``."""

    id: int
    ok: bool
    fields: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Event:
    """Something the board says on its own (hello after boot, cassette, tray, fault)."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)


def encode_request(request_id: int, op: str, **params: Any) -> bytes:
    """One request line: compact JSON, ASCII only, newline-terminated.

    ``ensure_ascii`` escapes every control character, so a 0x03 byte (Ctrl-C to a MicroPython
    REPL) can never be sent; the assertion guards that promise.
    """
    line = json.dumps({"id": request_id, "op": op, **params}, separators=(",", ":"))
    data = line.encode("ascii") + b"\n"
    assert b"\x03" not in data
    if len(data) > MAX_LINE:
        raise ValueError(f"request {op!r} is {len(data)} bytes; the board drops lines over "
                         f"{MAX_LINE}")
    return data


def classify(line: bytes) -> Reply | Event | None:
    """Turn a received line into a :class:`Reply`, an :class:`Event`, or ``None`` (noise)."""
    try:
        msg = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(msg, dict):
        return None
    req_id = msg.get("id")
    if isinstance(req_id, int) and not isinstance(req_id, bool):
        ok = msg.get("ok")
        if not isinstance(ok, bool):
            return None
        rest = {k: v for k, v in msg.items() if k not in {"id", "ok", "error", "detail"}}
        return Reply(req_id, ok, rest, str(msg.get("error", "")), str(msg.get("detail", "")))
    name = msg.get("event")
    if isinstance(name, str):
        return Event(name, {k: v for k, v in msg.items() if k != "event"})
    return None
