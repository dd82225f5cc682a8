"""Rendering a receipt to a 1-bit bitmap: title, label/value lines, a QR code with a caption
beside it, and a footer, in a CJK font.

It knows nothing of certificates: the caller fills :class:`ReceiptContent` (the issuance code
puts 承诺达标合格证 beside the QR, as the certificate rules require). Text is drawn in grey and
thresholded, not dithered, so the output is the same bitmap every time for the same font.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from device_drivers.printer.fonts import find_cjk_font

MARGIN = 8
GAP = 10
TITLE_SIZE = 34
TEXT_SIZE = 22
CAPTION_SIZE = 22
FOOTER_SIZE = 18
QR_SHARE = 0.55  # of the paper width
THRESHOLD = 128

# CJK characters break anywhere; latin words and numbers stay whole.
_TOKENS = re.compile(r"[A-Za-z0-9_\-.:/@+%#]+|\s+|.")


@dataclass(frozen=True)
class ReceiptContent:
    """What a receipt says.

    Attributes:
        title: the heading, centred and bold.
        lines: (label, value) pairs, values wrapped beside their labels.
        qr_payload: the text encoded in the QR code (e.g. the certificate's URL).
        qr_caption: printed next to the QR code (e.g. 承诺达标合格证).
        footer: small centred text at the bottom.
    """

    title: str
    lines: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    qr_payload: str = ""
    qr_caption: str = ""
    footer: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple((str(k), str(v)) for k, v in self.lines))


def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    path, index = find_cjk_font(style)
    return ImageFont.truetype(path, size, index=index)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):
            candidate = line + token
            if line and font.getlength(candidate) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
                # a single token wider than the line is cut by characters
                while font.getlength(line) > width and len(line) > 1:
                    cut = len(line) - 1
                    while cut > 1 and font.getlength(line[:cut]) > width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            else:
                line = candidate
        lines.append(line.rstrip())
    return lines


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent + 4


class _Canvas:
    """A tall grey canvas drawn top to bottom, cropped at the end."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.image = Image.new("L", (width, 4000), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN

    def text(self, x: int, text: str, font: ImageFont.FreeTypeFont) -> None:
        self.draw.text((x, self.y), text, font=font, fill=0)
        self.y += _line_height(font)

    def centred(self, text: str, font: ImageFont.FreeTypeFont) -> None:
        for line in _wrap(text, font, self.width - 2 * MARGIN):
            self.text((self.width - round(font.getlength(line))) // 2, line, font)

    def rule(self) -> None:
        self.y += 4
        self.draw.rectangle((MARGIN, self.y, self.width - MARGIN - 1, self.y + 1), fill=0)
        self.y += 8

    def finish(self) -> Image.Image:
        cropped = self.image.crop((0, 0, self.width, self.y + MARGIN))
        return cropped.point(lambda v: 255 if v >= THRESHOLD else 0, mode="1")


def _qr(payload: str, size: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0,
                         box_size=1)
    code.add_data(payload)
    code.make(fit=True)
    modules = code.modules_count
    box = max(1, size // modules)
    code.box_size = box
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")


def render_receipt(content: ReceiptContent, width: int = 384) -> Image.Image:
    """Draw ``content`` as a 1-bit image ``width`` dots wide (384 for 58 mm paper).

    Raises:
        FontMissing: fonts-noto-cjk is not installed.
        ValueError: the QR payload does not fit a QR code.
    """
    if width < 160:
        raise ValueError(f"a receipt needs at least 160 dots of width, not {width}")
    title_font = _font("Bold", TITLE_SIZE)
    text_font = _font("Regular", TEXT_SIZE)
    label_font = _font("Bold", TEXT_SIZE)
    caption_font = _font("Bold", CAPTION_SIZE)
    footer_font = _font("Regular", FOOTER_SIZE)
    canvas = _Canvas(width)
    inner = width - 2 * MARGIN

    canvas.centred(content.title, title_font)
    canvas.rule()

    if content.lines:
        label_w = min(round(inner * 0.4),
                      max(round(label_font.getlength(k + "：")) for k, _ in content.lines))
        for label, value in content.lines:
            top = canvas.y
            label_lines = _wrap(label + "：", label_font, label_w)
            for line in label_lines:
                canvas.text(MARGIN, line, label_font)
            bottom = canvas.y
            canvas.y = top
            for line in _wrap(value, text_font, inner - label_w - 4):
                canvas.text(MARGIN + label_w + 4, line, text_font)
            canvas.y = max(canvas.y, bottom)
        canvas.rule()

    if content.qr_payload:
        qr = _qr(content.qr_payload, round(width * QR_SHARE))
        top = canvas.y + 4
        canvas.image.paste(qr, (MARGIN, top))
        caption_x = MARGIN + qr.width + GAP
        caption_lines = _wrap(content.qr_caption, caption_font, width - MARGIN - caption_x)
        caption_h = _line_height(caption_font) * len(caption_lines)
        canvas.y = top + max(0, (qr.height - caption_h) // 2)
        for line in caption_lines:
            canvas.text(caption_x, line, caption_font)
        canvas.y = max(canvas.y, top + qr.height) + GAP

    if content.footer:
        canvas.centred(content.footer, footer_font)
    return canvas.finish()
