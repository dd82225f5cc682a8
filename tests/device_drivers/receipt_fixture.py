"""The fixture receipt whose exact bytes and bitmap are pinned in golden/.

Regenerate the golden files (after a deliberate change to the renderer, or a new font or
Pillow that draws differently) with::

    .venv/bin/python -m tests.device_drivers.receipt_fixture

which rewrites golden/receipt.png, golden/receipt.bin, golden/receipt.meta.json and
docs/images/receipt.png. Look at the PNG before committing it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import PIL

from device_drivers.printer import ReceiptContent, find_cjk_font, render_receipt
from device_drivers.printer.escpos import receipt_job

GOLDEN = Path(__file__).resolve().parent / "golden"
DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "receipt.png"

FIXTURE = ReceiptContent(
    title="承诺达标合格证",
    lines=(
        ("产品", "韭菜"),
        ("数量", "50 kg"),
        ("产地", "河北省保定市清苑区东闾乡南王庄村 3 号地块"),
        ("承诺人", "张*华 138****5678"),
        ("承诺依据", "自行检测合格"),
        ("开具时间", "2026-03-05 09:41"),
        ("编号", "NA-HB01-000123"),
    ),
    qr_payload="https://verify.nongan.example/c/7Q2W9X4K8M3P6R1T",
    qr_caption="承诺达标合格证",
    footer="扫码核验 · 农安自助快检",
)
FEED_LINES = 4


def font_facts() -> dict[str, str]:
    facts = {"pillow": PIL.__version__}
    for style in ("Regular", "Bold"):
        path, index = find_cjk_font(style)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
        facts[style] = f"{path}#{index} sha256:{digest}"
    return facts


def regenerate() -> None:
    image = render_receipt(FIXTURE, width=384)
    GOLDEN.mkdir(exist_ok=True)
    image.save(GOLDEN / "receipt.png", optimize=True)
    (GOLDEN / "receipt.bin").write_bytes(receipt_job(image, FEED_LINES, True))
    (GOLDEN / "receipt.meta.json").write_text(json.dumps(font_facts(), indent=2) + "\n")
    DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GOLDEN / "receipt.png", DOCS_IMAGE)


if __name__ == "__main__":
    regenerate()
