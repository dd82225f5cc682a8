"""PROTOCOL.md's examples are real: each → / ← pair is a vector in protocol-vectors.json."""

from __future__ import annotations

import json

from tests.hardware.firmware_harness import REPO, load_vectors


def test_examples_in_protocol_md_are_vectors() -> None:
    text = (REPO / "hardware" / "PROTOCOL.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith(("→ ", "← "))]
    pairs = list(zip(lines[::2], lines[1::2], strict=True))
    assert len(pairs) >= 5
    by_request = {v["request"]: v for v in load_vectors()["vectors"]}
    for request, response in pairs:
        assert request.startswith("→ ") and response.startswith("← ")
        vector = by_request[request[2:]]
        assert json.loads(response[2:]) == vector["response"]
