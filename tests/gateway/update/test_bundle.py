"""Release bundles: what is signed, and everything a kiosk refuses, with the reason."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.update.bundle import verify_bundle, write_bundle
from gateway.update.errors import BundleRefused
from gateway.update.manifest import MANIFEST_NAME, ReleaseTrust, key_id, sign_manifest
from gateway.update.release import build_bundle, firmware_files
from nongan.cli import main
from protocol import generate_private_key, public_key_text
from tests.gateway.update.releases import FIRMWARE_DIR, KITS_DIR


def tiny_wheel(folder: Path, version: str) -> Path:
    """A wheel file with nongan's name and metadata (enough for the bundle's checks)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"nongan-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"nongan-{version}.dist-info/METADATA",
                     f"Metadata-Version: 2.1\nName: nongan\nVersion: {version}\n"
                     "Requires-Python: >=3.11\n")
        whl.writestr("nongan/__init__.py", f'__version__ = "{version}"\n')
    return path


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture
def trust(key: Ed25519PrivateKey) -> ReleaseTrust:
    return ReleaseTrust([public_key_text(key)])


@pytest.fixture
def bundle(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    return build_bundle(wheel=tiny_wheel(tmp_path / "w", "0.2.0"), key=key,
                        out_dir=tmp_path / "dist", kits_dir=KITS_DIR,
                        firmware_dir=FIRMWARE_DIR, min_compatible="0.1.0").path


def _members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def _rewrite(bundle: Path, members: dict[str, bytes], out: Path,
             extra: list[tarfile.TarInfo] | None = None) -> Path:
    with tarfile.open(out, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return out


def test_a_signed_bundle_verifies_and_lists_what_it_holds(bundle: Path,
                                                          trust: ReleaseTrust) -> None:
    verified = verify_bundle(bundle, trust)
    m = verified.manifest
    assert (m.version, m.min_compatible, m.max_compatible) == ("0.2.0", "0.1.0", "0.2.0")
    assert m.dependencies == "host" and m.firmware is not None and m.kits is not None
    assert m.firmware.version == "1.0.0" and m.firmware.boards == ["rev_a"]
    names = {f.path for f in m.files}
    assert "wheels/nongan-0.2.0-py3-none-any.whl" in names
    assert {"data/firmware/main.py", "data/firmware/app/version.py",
            "data/firmware/boards/rev_a.py", "data/kits/kits.toml",
            "data/kits/limits.toml"} <= names
    assert not any("sim/" in n or "__pycache__" in n for n in names)
    assert set(_members(bundle)) == names | {MANIFEST_NAME}


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    wheel = tiny_wheel(tmp_path / "w", "0.2.0")
    fixed = {"now": lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC)}
    a = build_bundle(wheel=wheel, key=key, out_dir=tmp_path / "a", kits_dir=KITS_DIR,
                     firmware_dir=FIRMWARE_DIR, **fixed)
    b = build_bundle(wheel=wheel, key=key, out_dir=tmp_path / "b", kits_dir=KITS_DIR,
                     firmware_dir=FIRMWARE_DIR, **fixed)
    assert a.bundle_sha256 == b.bundle_sha256 and a.manifest_sha256 == b.manifest_sha256


def test_a_changed_file_is_refused(bundle: Path, trust: ReleaseTrust, tmp_path: Path) -> None:
    members = _members(bundle)
    name = "data/kits/limits.toml"
    members[name] = members[name].replace(b"=", b"= ", 1)
    members[name] = members[name][: len(members[name]) - 1]  # same size, other bytes
    tampered = _rewrite(bundle, members, tmp_path / "tampered.tar")
    with pytest.raises(BundleRefused, match=f"{name} does not match its SHA-256"):
        verify_bundle(tampered, trust)


def test_a_file_of_another_size_is_refused(bundle: Path, trust: ReleaseTrust,
                                           tmp_path: Path) -> None:
    members = _members(bundle)
    members["data/firmware/main.py"] += b"\nimport evil\n"
    with pytest.raises(BundleRefused, match=r"main.py has .* bytes, the manifest says"):
        verify_bundle(_rewrite(bundle, members, tmp_path / "t.tar"), trust)


def test_an_extra_or_missing_file_is_refused(bundle: Path, trust: ReleaseTrust,
                                             tmp_path: Path) -> None:
    members = _members(bundle)
    with pytest.raises(BundleRefused, match=r"data/firmware/app/evil.py is in the bundle but "
                                            "not in its signed manifest"):
        verify_bundle(_rewrite(bundle, {**members, "data/firmware/app/evil.py": b"x"},
                               tmp_path / "extra.tar"), trust)
    del members["data/kits/kits.toml"]
    with pytest.raises(BundleRefused, match=r"data/kits/kits.toml is listed in the manifest but "
                                            "missing"):
        verify_bundle(_rewrite(bundle, members, tmp_path / "missing.tar"), trust)


def test_links_and_escaping_paths_are_refused(bundle: Path, trust: ReleaseTrust,
                                              tmp_path: Path) -> None:
    link = tarfile.TarInfo("data/kits/kits.toml.link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/shadow"
    with pytest.raises(BundleRefused, match="is not a regular file"):
        verify_bundle(_rewrite(bundle, _members(bundle), tmp_path / "l.tar", [link]), trust)
    escaping = {**_members(bundle), "../../etc/cron.d/x": b"* * * * * root sh"}
    with pytest.raises(BundleRefused, match=r"\.\./\.\./etc/cron.d/x is in the bundle but not"):
        verify_bundle(_rewrite(bundle, escaping, tmp_path / "e.tar"), trust)


def test_a_manifest_changed_after_signing_is_refused(bundle: Path, trust: ReleaseTrust,
                                                     tmp_path: Path) -> None:
    members = _members(bundle)
    manifest = json.loads(members[MANIFEST_NAME])
    manifest["min_compatible"] = "0"  # widen who may install it
    members[MANIFEST_NAME] = json.dumps(manifest).encode()
    with pytest.raises(BundleRefused, match="bad signature on the manifest: signature does "
                                            "not match"):
        verify_bundle(_rewrite(bundle, members, tmp_path / "m.tar"), trust)


def test_a_bundle_signed_by_an_untrusted_key_is_refused(bundle: Path, key: Ed25519PrivateKey
                                                        ) -> None:
    other = ReleaseTrust([public_key_text(generate_private_key())])
    with pytest.raises(BundleRefused, match=f"signed by release key '{key_id(key)}', which "
                                            "this kiosk does not trust"):
        verify_bundle(bundle, other)
    with pytest.raises(BundleRefused, match=r"does not trust \(trusted: none\)"):
        verify_bundle(bundle, ReleaseTrust([]))


def test_a_key_signing_in_the_name_of_another_is_refused(tmp_path: Path,
                                                         key: Ed25519PrivateKey,
                                                         trust: ReleaseTrust) -> None:
    """A manifest that names the trusted key's id but is signed with another key."""
    good = build_bundle(wheel=tiny_wheel(tmp_path / "w", "0.2.0"), key=key,
                        out_dir=tmp_path / "dist", kits_dir=None, firmware_dir=None)
    members = _members(good.path)
    mallory = generate_private_key()
    manifest = good.manifest.model_copy(update={"key_id": key_id(mallory)})
    raw = sign_manifest(manifest, mallory)
    forged = json.loads(raw)
    forged["key_id"] = key_id(key)
    members[MANIFEST_NAME] = json.dumps(forged).encode()
    with pytest.raises(BundleRefused, match="bad signature"):
        verify_bundle(_rewrite(good.path, members, tmp_path / "f.tar"), trust)


def test_the_manifest_a_command_names_is_the_one_installed(bundle: Path,
                                                           trust: ReleaseTrust) -> None:
    verified = verify_bundle(bundle, trust)
    assert verify_bundle(bundle, trust,
                         expected_manifest_sha256=verified.manifest_sha256.upper()).manifest
    with pytest.raises(BundleRefused, match="not the one the command named"):
        verify_bundle(bundle, trust, expected_manifest_sha256="0" * 64)


def test_not_a_bundle(tmp_path: Path, trust: ReleaseTrust) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x1f\x8b" + b"\0" * 600)
    with pytest.raises(BundleRefused, match="not a release bundle"):
        verify_bundle(junk, trust)
    empty = _rewrite(junk, {"wheels/x.whl": b"x"}, tmp_path / "nomanifest.tar")
    with pytest.raises(BundleRefused, match=r"no manifest.json"):
        verify_bundle(empty, trust)


def test_extract_checks_again(bundle: Path, trust: ReleaseTrust, tmp_path: Path) -> None:
    """A bundle changed on disk after it was verified is caught while extracting."""
    verified = verify_bundle(bundle, trust)
    members = _members(bundle)
    name = "data/kits/kits.toml"
    members[name] = bytes(len(members[name]))
    _rewrite(bundle, members, bundle)
    with pytest.raises(BundleRefused, match="changed after the bundle was checked"):
        verified.extract(tmp_path / "out")
    assert not (tmp_path / "out" / name).exists()


def test_firmware_files_leave_out_the_simulator() -> None:
    files = firmware_files(FIRMWARE_DIR)
    assert "data/firmware/main.py" in files
    assert not any("/sim/" in name for name in files)


def test_release_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """keygen, build (from an already built wheel), verify — as a release manager runs them."""
    key_file = tmp_path / "keys" / "release.key"
    assert main(["release", "keygen", "--out", str(key_file)]) == 0
    assert key_file.stat().st_mode & 0o777 == 0o600
    public = capsys.readouterr().out.split("public key: ")[1].split()[0]
    assert main(["release", "keygen", "--out", str(key_file)]) == 1, "never overwrite a key"
    wheel = tiny_wheel(tmp_path / "w", "0.4.0")
    assert main(["release", "build", "--key", str(key_file), "--wheel", str(wheel),
                 "--out", str(tmp_path / "dist"), "--source", str(tmp_path),
                 "--kits-dir", str(KITS_DIR), "--firmware-dir", str(FIRMWARE_DIR),
                 "--min-compatible", "0.3.0", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["version"] == "0.4.0" and built["firmware"] == "1.0.0"
    sidecar = json.loads(Path(built["path"] + ".json").read_text())
    assert sidecar["manifest_sha256"] == built["manifest_sha256"]
    assert main(["release", "verify", built["path"], f"--pubkey={public}",
                 "--manifest-sha256", built["manifest_sha256"]]) == 0
    assert "ok: nongan 0.4.0" in capsys.readouterr().out
    other = public_key_text(generate_private_key())
    assert main(["release", "verify", built["path"], f"--pubkey={other}"]) == 1
    assert "which this kiosk does not trust" in capsys.readouterr().err


def test_write_bundle_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "b.tar"
    src = tmp_path / "f"
    src.write_bytes(b"x")
    write_bundle(out, b"{}", {"data/f": src})
    assert out.exists() and not (tmp_path / "b.tar.tmp").exists()
