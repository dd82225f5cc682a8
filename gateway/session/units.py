"""Units a producer can pick for a lot, by product category, and how the certificate says
them (the certificate is printed in Chinese whatever the screen's language)."""

from __future__ import annotations

CERTIFICATE_UNIT: dict[str, str] = {
    "kg": "公斤",
    "jin": "斤",
    "box": "箱",
    "egg": "枚",
    "bird": "只",
    "head": "头",
    "fish": "尾",
}

UNITS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "vegetable": ("kg", "jin", "box"),
    "fruit": ("kg", "jin", "box"),
    "tea": ("kg", "jin"),
    "eggs": ("egg", "kg", "box"),
    "poultry": ("bird", "kg"),
    "livestock": ("head", "kg"),
    "aquatic": ("kg", "jin", "fish"),
}

MAX_QUANTITY = 1_000_000.0


def units_for(category: str) -> tuple[str, ...]:
    return UNITS_BY_CATEGORY.get(category, ("kg", "jin"))
