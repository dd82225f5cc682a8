"""``nongan bridge ...``: migrate, device add/list/retire, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloud_bridge.store import head_revision
from nongan.cli import main
from tests.support.kiosk_messages import FakeKiosk


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_migrate_then_enrol_list_and_retire(database_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--database-url", database_url)
    status, out, _ = run(capsys, "bridge", "migrate", *db)
    assert status == 0 and f"is at revision {head_revision()}" in out
    kiosk = FakeKiosk()
    status, out, _ = run(capsys, "bridge", "device", "add", "--id", kiosk.device_id,
                         f"--public-key={kiosk.public_key}", "--station", "JL01",
                         "--place", "220122", *db)
    assert status == 0 and f"enrolled {kiosk.device_id}" in out
    status, out, _ = run(capsys, "bridge", "device", "list", "--json", *db)
    listed = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [(d["id"], d["state"], d["public_key"]) for d in listed] == [
        (kiosk.device_id, "enrolled", kiosk.public_key)]
    assert run(capsys, "bridge", "device", "retire", "--id", kiosk.device_id, *db)[0] == 0
    status, _, err = run(capsys, "bridge", "device", "retire", "--id", kiosk.device_id, *db)
    assert status == 1 and err.strip() == (f"nongan bridge: device {kiosk.device_id!r} is "
                                           "already retired")
    status, out, _ = run(capsys, "bridge", "device", "list", *db)
    assert "retired" in out


def test_enrolment_refuses_a_bad_key_in_one_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path / 'c.db'}")
    run(capsys, "bridge", "migrate", *db)
    status, _, err = run(capsys, "bridge", "device", "add", "--id", "kiosk-1",
                         "--public-key", "shortkey", "--station", "JL01", "--place", "220122", *db)
    assert status == 1 and err.count("\n") == 1 and "public key must be 32 bytes" in err


def test_commands_on_an_unmigrated_database_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "bridge", "device", "list",
                         "--database-url", f"sqlite:///{tmp_path / 'new.db'}")
    assert status == 1 and "run `nongan bridge migrate`" in err


def test_a_bad_config_file_is_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bridge.toml"
    status, _, err = run(capsys, "bridge", "migrate", "--config", str(path))
    assert status == 2 and err == f"nongan bridge: {path}: file not found\n"
    path.write_text('[broker]\nprotocol = "4"\n', encoding="utf-8")
    status, _, err = run(capsys, "bridge", "run", "--config", str(path))
    assert status == 2 and err.startswith(f"nongan bridge: {path}: broker.protocol: ")
    assert err.count("\n") == 1
    status, _, err = run(capsys, "bridge", "migrate", "--database-url", "oracle://x")
    assert status == 2 and "--database-url: url: Value error" in err


def test_the_config_file_can_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "env.db"}"\n', encoding="utf-8")
    monkeypatch.setenv("NONGAN_BRIDGE_CONFIG", str(path))
    status, out, _ = run(capsys, "bridge", "migrate")
    assert status == 0 and "env.db" in out and (tmp_path / "env.db").exists()


def test_keys_are_made_listed_and_revoked_from_the_command_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database-url", database_url)
    assert run(capsys, "bridge", "migrate", *db)[0] == 0
    status, out, _ = run(capsys, "bridge", "key", "add", "--name", "market-07", "--role",
                         "market", "--market", "农安批发市场", *db)
    key = out.strip().splitlines()[-1]
    assert status == 0 and key.startswith("ng_") and len(key) > 40
    status, _, err = run(capsys, "bridge", "key", "add", "--name", "m2", "--role", "market", *db)
    assert status == 1 and "needs the market's name" in err
    status, out, _ = run(capsys, "bridge", "key", "list", *db)
    assert "market-07" in out and "active" in out and key not in out
    assert run(capsys, "bridge", "key", "revoke", "--name", "market-07", *db)[0] == 0
    assert "revoked" in run(capsys, "bridge", "key", "list", *db)[1]


def test_device_add_prints_broker_credentials_and_prune_reports(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database-url", database_url)
    run(capsys, "bridge", "migrate", *db)
    kiosk = FakeKiosk()
    _, out, _ = run(capsys, "bridge", "device", "add", "--id", kiosk.device_id, "--public-key",
                    kiosk.public_key, "--station", "JL01", "--place", "220122", *db)
    assert f"broker username: {kiosk.device_id}" in out and "broker password: " in out
    status, out, _ = run(capsys, "bridge", "prune", "--dry-run", *db)
    assert status == 0 and "nothing received before" in out
    status, _, err = run(capsys, "bridge", "prune", "--days", "30", *db)
    assert status == 2 and "at least 180 days" in err


def test_pki_init_and_issue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography import x509

    folder = tmp_path / "pki"
    assert run(capsys, "pki", "init", "--dir", str(folder), "--host", "broker.example.cn",
               "--host", "10.0.0.5")[0] == 0
    assert run(capsys, "pki", "init", "--dir", str(folder))[0] == 1  # never replaced silently
    assert run(capsys, "pki", "issue", "--dir", str(folder), "--name", "kiosk-0042")[0] == 0
    status, _, err = run(capsys, "pki", "issue", "--dir", str(folder), "--name", "Bad/Name")
    assert status == 1 and "device id" in err
    cert = x509.load_pem_x509_certificate((folder / "clients/kiosk-0042.crt").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=kiosk-0042"
    broker = x509.load_pem_x509_certificate((folder / "broker.crt").read_bytes())
    sans = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "broker.example.cn" in sans.get_values_for_type(x509.DNSName)
    assert (folder / "ca.key").stat().st_mode & 0o077 == 0
