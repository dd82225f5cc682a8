"""Masking personal data for public pages: a stranger scanning a QR code sees enough to match
the certificate to the seller, not enough to call or find them.
"""

from __future__ import annotations

import re


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: ``13812341234`` -> ``138****1234``.

    A country code is dropped first (``+86 138 1234 1234`` -> ``138****1234``); numbers too
    short to keep seven digits show only their last two.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+86") and len(digits) > 11:
        digits = digits[2:]
    if len(digits) >= 8:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_name(name: str) -> str:
    """Keep the first character (the family name, in Chinese): ``张三丰`` -> ``张**``."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


_SEPARATOR = r"[ \u3000\-\u2010-\u2014\uff0d.]"
"""What people put between digit groups: spaces (also full-width), hyphens and dashes, dots."""
_NUMBER = re.compile(
    rf"(?<![\dXx+])\+?\d(?:{_SEPARATOR}?\d){{6,}}(?:{_SEPARATOR}?[Xx])?(?![\dXx])")
"""Seven or more digits (a phone, a landline, a resident ID with its X) however grouped."""
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}")


def mask_free_text(text: str) -> str:
    """Hide phone numbers and ID numbers anywhere in free text, however they are grouped:
    ``电话 138 1234 5678`` -> ``电话 138****5678``, ``220122-19900101-1234`` ->
    ``2201**********1234``. Any other run of seven or more digits is masked like a phone; a
    date (``2025-03-01``) is left as it is. Full-width digits count as digits."""
    return _NUMBER.sub(_mask_number, text)


def _mask_number(match: re.Match[str]) -> str:
    value = match.group(0)
    if _DATE.fullmatch(value):
        return value
    chars = "".join(str(int(ch)) if ch.isdigit() else "X"
                    for ch in value if ch.isdigit() or ch in "Xx")
    if len(chars) in (15, 18) and not value.startswith("+"):  # resident ID (old and new)
        return chars[:4] + "*" * (len(chars) - 8) + chars[-4:]
    return mask_phone(value)


def mask_id_number(text: str) -> str:
    """Hide a resident ID number (18 characters), and any phone or long digit run, inside free
    text: ``220122199001011234`` -> ``2201**********1234`` (``mask_free_text``)."""
    return mask_free_text(text)
