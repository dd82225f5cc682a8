# Framing of the JSON-lines protocol (hardware/PROTOCOL.md): bytes in, lines out, and the
# encoder for replies and events. Never emits a 0x03 byte: on the USB port it would be taken
# as Ctrl-C by a REPL, and mpremote relies on Ctrl-C to interrupt and redeploy.
import json

MAX_LINE = 256


class LineReader:
    """Collect bytes into lines; over-long lines are dropped whole and reported once."""

    def __init__(self, max_line=MAX_LINE):
        self._max = max_line
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data):
        """Return a list of items: bytes (a complete line) or None (an over-long line)."""
        out = []
        for b in data:
            if b == 10:
                if self._overflow:
                    out.append(None)
                else:
                    out.append(bytes(self._buf).strip())
                self._buf = bytearray()
                self._overflow = False
            elif not self._overflow:
                if len(self._buf) >= self._max:
                    self._overflow = True
                    self._buf = bytearray()
                else:
                    self._buf.append(b)
        return out


def encode(obj):
    data = json.dumps(obj).encode()
    if b"\x03" in data:
        # A raw 0x03 can only sit inside a JSON string, where \u0003 is its valid escape.
        data = data.replace(b"\x03", b"\\u0003")
    return data + b"\n"


def event(name, **fields):
    msg = {"event": name}
    for key in fields:
        msg[key] = fields[key]
    return msg


def parse(line):
    """Return (request, None) or (None, error event) for one line."""
    try:
        text = line.decode()
    except Exception:
        return None, event("error", code="bad_line", detail="not UTF-8")
    try:
        msg = json.loads(text)
    except Exception:
        return None, event("error", code="bad_line", detail="not JSON")
    if not isinstance(msg, dict):
        return None, event("error", code="bad_line", detail="not a JSON object")
    req_id = msg.get("id")
    if not isinstance(req_id, int) or isinstance(req_id, bool):
        return None, event("error", code="bad_line", detail="no integer id")
    return msg, None
