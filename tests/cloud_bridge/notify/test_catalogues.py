"""The cloud's TOML catalogues: the same keys and placeholders in zh-CN and en, every
notification template and status the code uses, and the dashboard's fallback to them."""

from __future__ import annotations

from cloud_bridge.api.i18n import translator
from cloud_bridge.locales import LANGUAGES, Translator, catalogue, placeholders
from cloud_bridge.notify import CHANNELS
from cloud_bridge.notify.alert_watch import FIRST_TEMPLATE, LATER_TEMPLATE
from cloud_bridge.store.notify_models import NotificationStatus


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    different = {k: (placeholders(zh[k]), placeholders(en[k])) for k in zh
                 if placeholders(zh[k]) != placeholders(en[k])}
    assert different == {}


def test_every_template_the_code_sends_has_a_subject_and_a_body() -> None:
    for language in LANGUAGES:
        words = catalogue(language)
        for template in (FIRST_TEMPLATE, LATER_TEMPLATE, "test"):
            assert words[f"notify.{template}.subject"].strip(), (language, template)
            assert "{link}" in words[f"notify.{template}.body"], (language, template)
        for status in NotificationStatus.ALL:
            assert f"notify_status.{status}" in words
        for channel in [*CHANNELS, "none"]:
            assert f"notify_channel.{channel}" in words


def test_chinese_is_the_default_and_a_missing_key_shows_itself() -> None:
    assert Translator("fr").language == "zh-CN"
    t = Translator("zh-CN")
    assert t("notify_page.nav") == "通知"
    assert t("alert_page.level", level=2) == "第 2 级"
    assert t("no.such.key") == "no.such.key"


def test_the_dashboard_translator_falls_back_to_the_toml_catalogues() -> None:
    zh, en = translator("zh-CN"), translator("en")
    assert zh("fleet") == "终端" and zh("notify_status.given_up") == "已放弃"
    assert en("notify_status.given_up") == "given up"
    assert en("alert_page.acknowledged_by", who="zhang.wei", when="09:30") == \
        "by zhang.wei at 09:30"
    assert zh("nothing.like.this") == "nothing.like.this"
