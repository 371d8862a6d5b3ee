"""A private CA and the Kafka broker's certificate, as PEM files: ``python -m infra.tls``.

    python -m infra.tls --dir /trust --broker-dir /broker --ca-dir /ca --san kafka

writes, unless they already exist (an existing file is kept, never replaced):

* ``<ca-dir>/ca-key.pem``: the CA's private key (mode 0600), and ``<ca-dir>/ca.pem``.
  Needed only to issue a broker certificate: keep it out of what brokers and clients
  mount.
* ``<dir>/ca.pem``: the CA certificate, what every client trusts (``LT_KAFKA_SSL_CAFILE``;
  agency systems get this file, never a key).
* ``<broker-dir>/broker.pem``: the broker's private key (unencrypted PKCS#8, the form
  Kafka's ``ssl.keystore.type=PEM`` reads) followed by its certificate, signed by the CA,
  naming the given subject alternative names (DNS names or IP addresses); mode 0600.

``--broker-dir`` and ``--ca-dir`` default to ``--dir``. ``--key-owner UID`` hands
``broker.pem`` to that user (the broker's, when the tool runs as root in a one-shot
container and the broker as another user). An operator who brings their own
certificates puts ``ca.pem`` in ``<dir>`` and ``broker.pem`` in ``<broker-dir>``: the tool
then issues nothing. If an existing ``broker.pem`` lacks a requested name or has
expired, the tool says so and exits with status 1 (remove the file to have a new one
issued by the same CA; clients keep trusting it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
BROKER_DAYS = 825  # the longest server certificate lifetime browsers' rules allow
CA_NAME = "Lien thong Kafka CA"


@dataclass(frozen=True)
class TlsFiles:
    """Where the tool writes (and the broker and clients read)."""

    dir: Path  # ca.pem, for clients
    ca_dir: Path  # the CA's key
    broker_dir: Path | None = None  # broker.pem (default: dir)

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.ca_dir / "ca-key.pem"

    @property
    def ca_master(self) -> Path:
        return self.ca_dir / "ca.pem"

    @property
    def broker(self) -> Path:
        return (self.broker_dir or self.dir) / "broker.pem"


class CertificateProblem(Exception):
    """An existing certificate does not fit what was asked for."""


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Create the file with its mode from the start (a key is never readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)  # whatever the umask


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_broker_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, sans: Sequence[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=BROKER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in sans]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _check_broker(path: Path, sans: Iterable[str]) -> None:
    cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    missing = [n for n in sans if _general_name(n) not in names]
    if missing:
        raise CertificateProblem(
            f"{path} does not name {', '.join(missing)}: remove it to have a new one issued"
        )
    if cert.not_valid_after_utc <= _now():
        raise CertificateProblem(f"{path} expired on {cert.not_valid_after_utc:%Y-%m-%d}")


def ensure(files: TlsFiles, sans: Sequence[str], key_owner: int | None = None) -> list[Path]:
    """Create what is missing (CA, its copy for clients, broker key and certificate) and
    return the files written; existing files are kept as they are."""
    if not sans:
        raise ValueError("at least one subject alternative name (--san) is needed")
    written: list[Path] = []
    if files.broker.exists() and files.ca_cert.exists():
        _check_broker(files.broker, sans)  # operator's own, or issued before: kept
        return written
    if files.ca_key.exists():
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise CertificateProblem(f"{files.ca_key} is not an EC key this tool issued")
        ca_cert = x509.load_pem_x509_certificate(files.ca_master.read_bytes())
    else:
        ca_key, ca_cert = _new_ca()
        _write(files.ca_key, _key_pem(ca_key), 0o600)
        _write(files.ca_master, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        written += [files.ca_key, files.ca_master]
    if not files.ca_cert.exists():
        _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        written.append(files.ca_cert)
    if files.broker.exists():
        _check_broker(files.broker, sans)
        return written
    key, cert = _new_broker_cert(ca_key, ca_cert, sans)
    _write(files.broker, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM), 0o600)
    if key_owner is not None:
        os.chown(files.broker, key_owner, -1)
    written.append(files.broker)
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--dir", type=Path, required=True, help="ca.pem, for clients, goes here.")
    parser.add_argument(
        "--broker-dir", type=Path, default=None, help="broker.pem goes here (default: --dir)."
    )
    parser.add_argument(
        "--ca-dir", type=Path, default=None, help="The CA's key (default: --dir); keep it apart."
    )
    parser.add_argument(
        "--san",
        action="append",
        default=[],
        help="A name clients reach the broker by (DNS name or IP); repeat or comma-separate.",
    )
    parser.add_argument(
        "--key-owner", type=int, default=None, help="Give broker.pem to this user id."
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sans = [name.strip() for item in args.san for name in item.split(",") if name.strip()]
    files = TlsFiles(args.dir, args.ca_dir or args.dir, args.broker_dir)
    try:
        written = ensure(files, sans, args.key_owner)
    except CertificateProblem as exc:
        print(f"infra.tls: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"kept the existing {files.ca_cert} and {files.broker}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
