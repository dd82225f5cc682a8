import json
import stat

import pytest

from gateway.identity import DeviceIdentity, IdentityError
from protocol import sign_object, verify_object


def test_created_once_with_safe_permissions(tmp_path):
    first = DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
    key_path = tmp_path / "identity" / "device.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    again = DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
    assert again.public_key == first.public_key
    info = json.loads((tmp_path / "identity" / "device.json").read_text())
    assert info == {**info, "device_id": "kiosk-0001", "public_key": first.public_key}
    verify_object(sign_object({"a": 1}, again.private_key), first.public_key)


def test_world_readable_key_is_refused(tmp_path):
    DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
    (tmp_path / "identity" / "device.key").chmod(0o644)
    with pytest.raises(IdentityError, match="chmod 600"):
        DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")


def test_another_devices_identity_is_refused(tmp_path):
    DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
    with pytest.raises(IdentityError, match="belongs to device 'kiosk-0001'"):
        DeviceIdentity.load_or_create(tmp_path, "kiosk-0002")


def test_corrupt_key_is_reported(tmp_path):
    DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
    (tmp_path / "identity" / "device.key").write_bytes(b"garbage")
    with pytest.raises(IdentityError, match="not a readable private key"):
        DeviceIdentity.load_or_create(tmp_path, "kiosk-0001")
