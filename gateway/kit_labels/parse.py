"""Which label form a scanned code is in, and reading it."""

from __future__ import annotations

from ._gs1 import looks_like_gs1, parse_gs1
from ._label import KitLabel, LabelError
from ._local import looks_like_local, parse_local


def parse_label(code: str) -> KitLabel:
    """Read a kit box label in any supported form (GS1, or the nongan NGK1 label).

    Raises:
        LabelError: with what is wrong and what to do (``fix``).
    """
    if looks_like_local(code):
        return parse_local(code)
    if looks_like_gs1(code):
        return parse_gs1(code)
    shown = code if len(code) <= 40 else code[:40] + "…"
    raise LabelError(f"{shown!r} is not a kit box label: expected a GS1 code ((01)… or 01…) "
                     "or a nongan label (NGK1|…)",
                     fix="scan the QR code on the kit box, not a producer card or another code")
