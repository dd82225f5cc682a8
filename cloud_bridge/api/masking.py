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


def mask_id_number(text: str) -> str:
    """Hide a resident ID number (18 characters) or any long digit run inside free text:
    ``220122199001011234`` -> ``2201**********1234``."""

    def _mask(match: re.Match[str]) -> str:
        value = match.group(0)
        return value[:4] + "*" * (len(value) - 8) + value[-4:]

    return re.sub(r"\d{14,17}[\dXx]", _mask, text)
