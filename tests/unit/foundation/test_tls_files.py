"""infra.tls: the private CA and the broker's PEM key store, made once and then kept."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.tls import TlsFiles, ensure, main


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_makes_a_ca_and_a_broker_key_store_with_the_names_asked_for(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "trust", tmp_path / "ca", tmp_path / "broker")
    written = ensure(files, ["kafka", "localhost", "127.0.0.1"])
    assert set(written) == {files.ca_key, files.ca_master, files.ca_cert, files.broker}
    assert mode(files.ca_key) == mode(files.broker) == 0o600
    assert mode(files.ca_cert) == 0o644
    # What clients mount holds the CA certificate only; the CA's key stays apart.
    assert [p.name for p in files.dir.iterdir()] == ["ca.pem"]
    assert files.broker.parent == tmp_path / "broker"
    # Kafka's PEM key store: an unencrypted PKCS#8 key, then the certificate.
    text = files.broker.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(text[text.index("-----BEGIN CERTIFICATE") :].encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kafka", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # The key in the file is the certificate's (the broker would fail its handshakes).
    key = serialization.load_pem_private_key(text.encode(), password=None)
    assert key.public_key() == cert.public_key()
    ssl.create_default_context(cafile=files.ca_cert).load_cert_chain(files.broker)


def test_a_second_run_keeps_every_file(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path, tmp_path)
    ensure(files, ["kafka"])
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    assert ensure(files, ["kafka"]) == []
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_removed_broker_file_is_issued_again_by_the_same_ca(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "tls", tmp_path / "ca")
    ensure(files, ["kafka"])
    ca = files.ca_cert.read_bytes()
    files.broker.unlink()
    assert ensure(files, ["kafka", "kafka-2"]) == [files.broker]
    assert files.ca_cert.read_bytes() == ca
    cert = x509.load_pem_x509_certificates(files.broker.read_bytes())[0]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))


def test_an_operators_own_files_are_kept_and_a_missing_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = TlsFiles(tmp_path / "theirs", tmp_path / "theirs")
    ensure(theirs, ["kafka"])
    deployed = tmp_path / "tls"
    deployed.mkdir()
    for name in ("ca.pem", "broker.pem"):
        (deployed / name).write_bytes((theirs.dir / name).read_bytes())
    ca_dir = tmp_path / "ca"
    assert main(["--dir", str(deployed), "--ca-dir", str(ca_dir), "--san", "kafka"]) == 0
    assert not ca_dir.exists()  # no CA of ours was made
    assert "kept the existing" in capsys.readouterr().out
    assert main(["--dir", str(deployed), "--ca-dir", str(ca_dir), "--san", "kafka,kafka-3"]) == 1
    assert "does not name kafka-3" in capsys.readouterr().err
