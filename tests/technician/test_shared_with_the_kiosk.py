"""The doctor judges with the kiosk's own code: TLS context, disk guard, device health, the
scorer's linear-light curve, and one path through the kiosk checks."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device_drivers import DeviceAbsent, DevicesConfig, HealthState
from gateway.devices import KioskDevices
from gateway.health_watch import MB
from gateway.settings import BrokerSection, StorageSection
from gateway.technician import measure
from gateway.technician.check_devices import device_checks
from gateway.technician.check_host import DiskLimits, DiskUsage, disk_check
from gateway.technician.check_link import probe_broker
from gateway.technician.doctor import DoctorLimits, kiosk_checks
from gateway.technician.report import Status
from gateway.tls import tls_context
from tests.gateway.conftest import kiosk_settings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk-0001")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "kiosk.crt", tmp_path / "kiosk.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_one_tls_context_for_the_link_and_the_probe(tmp_path):
    cert, key = self_signed(tmp_path)
    broker = BrokerSection(url="mqtts://broker.example:8883", ca_file=cert, cert_file=cert,
                           key_file=key)
    context = tls_context(broker)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the configured CA, not the system's


def test_a_missing_tls_file_is_named_by_both(tmp_path):
    broker = BrokerSection(url="mqtts://127.0.0.1:1", ca_file=tmp_path / "nope.crt")
    with pytest.raises(FileNotFoundError):
        tls_context(broker)
    check = probe_broker(broker, "kiosk-0001-doctor", timeout_s=1)
    assert check.status is Status.FAULT and "TLS file missing" in check.detail


def test_disk_limits_are_the_kiosks_storage_settings(tmp_path):
    defaults = StorageSection()
    assert DiskLimits() == DiskLimits(defaults.disk_warn_mb, defaults.disk_refuse_mb)
    settings = kiosk_settings(tmp_path, storage={"disk_warn_mb": 2048, "disk_refuse_mb": 512})
    limits = DiskLimits.from_settings(settings)
    guard = limits.guard(tmp_path)
    assert (guard.warn_bytes, guard.refuse_bytes) == (2048 * MB, 512 * MB)
    total = 64 * 1024 * MB
    for free, level, status in ((600 * MB, "low", Status.WARNING),
                                (500 * MB, "full", Status.FAULT),
                                (3000 * MB, "ok", Status.OK)):
        usage = DiskUsage(total, total - free, free)
        check = disk_check(tmp_path, limits, usage=lambda p, u=usage: u)
        assert check.status is status
        assert limits.guard(tmp_path, usage=lambda p, u=usage: (u.free, u.total)
                            ).state().level == level


def test_measure_uses_the_scorers_curve():
    from gateway.scoring import SRGB_TO_LINEAR

    assert measure.SRGB_TO_LINEAR is SRGB_TO_LINEAR
    v = np.arange(256, dtype=np.float64) / 255.0
    expected = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)
    assert np.array_equal(measure.SRGB_TO_LINEAR, expected)
    frames = [np.full((2, 2, 3), 128, np.uint8), np.full((2, 2, 3), 255, np.uint8)]
    assert np.allclose(measure.linear(frames), (expected[128] + expected[255]) / 2)


@pytest.fixture
def devices():
    kiosk = KioskDevices.from_config(DevicesConfig.simulated(camera_size=(320, 240)))
    kiosk.open_all()
    yield kiosk
    kiosk.close_all()


def test_a_health_check_that_raises_is_reported_with_its_fix(devices, monkeypatch):
    def absent():
        raise DeviceAbsent("camera not found at /dev/video0", fix="plug the camera in")

    monkeypatch.setattr(devices.camera, "health", absent)
    [camera] = [h for h in devices.health() if h.device == "camera"]
    assert camera.state is HealthState.ABSENT and camera.fix == "plug the camera in"
    assert "/dev/video0" in camera.detail
    monkeypatch.setattr(devices.reader, "health", absent)
    [reader] = [c for c in device_checks(devices, firmware_expected=None, active=False)
                if c.name == "reader (simulated)"]
    assert reader.status is Status.FAULT and reader.fix == "plug the camera in"
    assert "not found" in reader.detail


def test_without_a_database_the_kiosk_checks_say_so_once(tmp_path, catalogue):
    settings = kiosk_settings(tmp_path / "kiosk")
    checks = kiosk_checks(settings, None, catalogue, now=NOW, kernel_synced=True,
                          limits=DoctorLimits())
    named = {(c.area, c.name): c for c in checks}
    assert named[("outbox", "database")].status is Status.WARNING
    assert named[("clock", "wall clock")].status is Status.OK
    assert "never calibrated" in named[("calibration", "reader reader-1")].detail
    assert named[("kits", "stock")].detail == "no kit box is registered"
    assert [c.area for c in checks].count("clock") == 1
    without_catalogue = kiosk_checks(settings, None, None, now=NOW, kernel_synced=True,
                                     limits=DoctorLimits())
    kits = [(c.name, c.status) for c in without_catalogue if c.area == "kits"]
    assert kits == [("stock", Status.WARNING), ("catalogue", Status.FAULT)]


def test_with_a_database_the_calibration_is_judged_without_its_flat_field(
        tmp_path, db, catalogue, monkeypatch):
    from gateway.calibration import CalibrationBook

    settings = kiosk_settings(db.path.parent)
    book = CalibrationBook(db, db.path.parent / "calibration", interval=timedelta(days=30))
    book.record("reader-1", passed=True, figures={}, problems=[],
                flat_field=np.ones((4, 4, 3), np.float32), performed_at=NOW - timedelta(days=1))
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("the flat field was loaded"))
    checks = kiosk_checks(settings, db, catalogue, now=NOW, kernel_synced=True,
                          limits=DoctorLimits())
    [calibration] = [c for c in checks if c.area == "calibration"]
    assert calibration.status is Status.OK
    assert [c.area for c in checks].count("clock") == 1
