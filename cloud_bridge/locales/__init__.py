"""The cloud's words in TOML catalogues, one per language (zh-CN first, en), flat dotted keys.

Shaped like the kiosk's (``kiosk_ui/i18n.py``): ``{placeholders}`` in the texts, a missing key
shows the key itself (and is logged) rather than breaking a page or a message, and a test
checks that both catalogues hold the same keys with the same placeholders. Today it holds the
notification texts and the notification pages' words; the dashboard's older words are still in
``cloud_bridge/api/i18n.py``, which falls back to these catalogues for keys it lacks.
"""

from __future__ import annotations

import logging
import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FOLDER = Path(__file__).parent
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Translator", "catalogue", "placeholders"]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """The flat catalogue of ``language`` (cached)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}")
    with (FOLDER / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a catalogue text expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """``t(key, **params)`` in one language (an unknown language gets zh-CN)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self.words = catalogue(self.language)

    def has(self, key: str) -> bool:
        return key in self.words

    def __call__(self, key: str, **params: object) -> str:
        text = self.words.get(key)
        if text is None:
            log.error("no %s text for %r", self.language, key)
            return key
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            log.error("the %s text for %r lacks a parameter (%s)", self.language, key,
                      sorted(params))
            return text
