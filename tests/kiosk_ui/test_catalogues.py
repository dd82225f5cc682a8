"""Both catalogues say everything the screen can be asked to say, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.scoring.reasons import Reason
from gateway.session import STEPS_BY_CATEGORY, UNITS_BY_CATEGORY, Step
from gateway.session.issuing import VOID_REASONS
from kiosk_ui.i18n import LANGUAGES, Translator, catalogue, placeholders

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "kiosk_ui" / "templates"


def test_both_catalogues_have_the_same_keys_and_placeholders():
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert sorted(zh) == sorted(en)
    different = {k: (placeholders(zh[k]), placeholders(en[k])) for k in zh
                 if placeholders(zh[k]) != placeholders(en[k])}
    assert not different


def test_the_checker_notices_a_missing_placeholder():
    assert placeholders("还剩 {left} 次") == {"left"}
    assert placeholders("{left} tries, {minutes} min") == {"left", "minutes"}
    assert placeholders("no placeholder") == set()


def every_key_used_in_templates() -> set[str]:
    found = set()
    for path in TEMPLATES.rglob("*.html"):
        found.update(re.findall(r"""\bt\(["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()))
    return found


def test_every_key_a_template_asks_for_exists():
    missing = every_key_used_in_templates() - set(catalogue("zh-CN"))
    assert not missing


def session_notice_codes() -> set[str]:
    source = "".join(p.read_text() for p in (ROOT / "gateway" / "session").glob("*.py"))
    codes = set(re.findall(r'Notice\(\s*"(notice\.[a-z_]+)"', source))
    codes.update(f"notice.print_{s}" for s in ("out_of_paper", "offline", "failed",
                                                  "no_printer"))
    return codes


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_the_kiosk_can_produce_has_words(language):
    words = catalogue(language)
    needed = session_notice_codes()
    needed |= {f"reason.{r.value}" for r in Reason}
    needed |= {f"refusal.{c}" for c in ("no_stock", "expired", "exhausted", "unknown_lot",
                                        "calibration_none", "calibration_overdue",
                                        "calibration_failed", "device_fault", "disk_full",
                                        "kit_mismatch", "no_station", "other")}
    needed |= {f"say.{s.value}" for s in Step}
    needed |= {f"call.{c}" for c in ("negative", "positive", "suspect", "invalid", "pending")}
    needed |= {f"unit.{u}" for units in UNITS_BY_CATEGORY.values() for u in units}
    needed |= {step for steps in STEPS_BY_CATEGORY.values() for step in steps}
    needed |= {f"certificate.void_{reason}" for reason in VOID_REASONS}
    needed |= {f"error.{code}" for code in ("device", "scoring", "storage")}
    needed |= {f"field.{f}" for f in ("name", "phone", "origin_code", "pin")}
    assert not needed - set(words), sorted(needed - set(words))
    assert len(session_notice_codes()) > 15  # the scan of the session's code found them


def test_every_step_has_a_screen():
    for step in Step:
        assert (TEMPLATES / "steps" / f"{step.value}.html").is_file(), step


def test_a_missing_key_shows_the_key_and_a_missing_parameter_the_text():
    t = Translator("en")
    assert t("no.such.key") == "no.such.key"
    assert t("notice.pin_wrong") == "Wrong PIN. {left} tries left."
    assert t("notice.pin_wrong", left=2) == "Wrong PIN. 2 tries left."
    assert Translator("fr").language == "zh-CN"


def test_the_screen_the_session_and_the_settings_know_the_same_languages():
    import typing

    from gateway import session
    from gateway.settings import UiSection

    settings_languages = typing.get_args(UiSection.model_fields["language"].annotation)
    assert LANGUAGES == session.LANGUAGES == settings_languages
    assert {p.stem for p in (ROOT / "kiosk_ui" / "i18n").glob("*.toml")} == set(LANGUAGES)
