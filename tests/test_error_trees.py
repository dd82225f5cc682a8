"""The error trees of ``gateway`` and ``cloud_bridge``: one root each, every error of the package
under it, each with a code and a translation key whose text (in both languages) takes exactly
the placeholders the error declares."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import cloud_bridge
import gateway
from cloud_bridge.errors import BridgeError
from cloud_bridge.locales import catalogue as cloud_catalogue
from cloud_bridge.locales import placeholders as cloud_placeholders
from gateway.errors import (
    CassetteFailed,
    DeviceFailed,
    GatewayError,
    RecordingFailed,
    ScoringFailed,
    StorageError,
)
from gateway.session import PrintStatus
from kiosk_ui.i18n import LANGUAGES
from kiosk_ui.i18n import catalogue as kiosk_catalogue
from kiosk_ui.i18n import placeholders as kiosk_placeholders

OUTSIDE = {"gateway.scoring"}
"""Trees of their own for now: the scorer's ``ScoringError`` (another branch is reshaping the
scorer; its errors reach the kiosk's flow as ``ScoringFailed``)."""


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations." in info.name or info.name.endswith(".__main__"):
            continue
        found.append(importlib.import_module(info.name))
    return found


def _errors(package: ModuleType) -> list[type[BaseException]]:
    classes = {}
    for module in _modules(package):
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__ and not name.startswith("_")):
                classes[f"{value.__module__}.{name}"] = value
    return [classes[k] for k in sorted(classes)]


GATEWAY_ERRORS = _errors(gateway)
CLOUD_ERRORS = _errors(cloud_bridge)


def test_the_trees_were_found():
    assert len(GATEWAY_ERRORS) > 30 and len(CLOUD_ERRORS) > 20


@pytest.mark.parametrize("package, root, errors", [
    ("gateway", GatewayError, GATEWAY_ERRORS),
    ("cloud_bridge", BridgeError, CLOUD_ERRORS),
])
def test_every_error_of_a_package_is_under_its_root(package, root, errors):
    strays = [f"{e.__module__}.{e.__name__}" for e in errors
              if not issubclass(e, root) and not e.__module__.startswith(tuple(OUTSIDE))]
    assert strays == []


@pytest.mark.parametrize("error", GATEWAY_ERRORS, ids=lambda e: e.__name__)
def test_a_kiosk_errors_words_exist_with_its_placeholders(error):
    if not issubclass(error, GatewayError):
        pytest.skip(f"{error.__module__} keeps its own tree")
    assert error.code and error.translation_key
    for language in LANGUAGES:
        text = kiosk_catalogue(language).get(error.translation_key)
        assert text is not None, (language, error.translation_key)
        assert kiosk_placeholders(text) == set(error.placeholder_names), error


@pytest.mark.parametrize("error", CLOUD_ERRORS, ids=lambda e: e.__name__)
def test_a_cloud_errors_words_exist_with_its_placeholders(error):
    assert error.code and error.translation_key
    for language in ("zh-CN", "en"):
        text = cloud_catalogue(language).get(error.translation_key)
        assert text is not None, (language, error.translation_key)
        assert cloud_placeholders(text) == set(error.placeholder_names), error


def test_leaves_are_caught_by_meaning():
    from cloud_bridge.notify.errors import RetryLater, Undeliverable
    from cloud_bridge.store.devices import DeviceNotFound, EnrolmentError
    from gateway.kits import UnknownCodeError
    from gateway.session import WrongStep
    from gateway.station import CassetteTimeout

    assert issubclass(CassetteTimeout, TimeoutError)
    assert issubclass(UnknownCodeError, KeyError)
    assert issubclass(WrongStep, LookupError)
    assert issubclass(DeviceNotFound, EnrolmentError) and issubclass(DeviceNotFound, LookupError)
    assert issubclass(RetryLater, ConnectionError) and issubclass(Undeliverable, ValueError)
    assert str(UnknownCodeError("no kit x")) == "no kit x"  # not KeyError's quoting


def test_a_failed_cassette_says_where_by_its_code():
    codes = {cls: cls("x").code for cls in (DeviceFailed, ScoringFailed, RecordingFailed)}
    assert codes == {DeviceFailed: "device", ScoringFailed: "scoring", RecordingFailed: "storage"}
    assert all(issubclass(cls, CassetteFailed) for cls in codes)
    assert StorageError("disk full").code == "storage"
    assert {DeviceFailed.translation_key, ScoringFailed.translation_key,
            StorageError.translation_key} == {"error.device", "error.scoring", "error.storage"}


def test_the_print_status_names_its_notice():
    keys = {status: status.notice_key for status in PrintStatus}
    assert keys[PrintStatus.PRINTED] is None and keys[PrintStatus.PRINTING] is None
    for language in LANGUAGES:
        words = kiosk_catalogue(language)
        assert all(key in words for key in keys.values() if key is not None)
    assert PrintStatus.OUT_OF_PAPER == "out_of_paper"  # the screen's CSS class and old value
