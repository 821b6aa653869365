"""Certificates for the local broker's SASL_SSL listener, made by ``openssl`` on the first start.

A private CA (``ca.pem``, its key ``ca.key``) signs one broker certificate for 127.0.0.1 and
``localhost`` (``broker.pem``: key, certificate, CA; the PEM key store Kafka reads since KIP-651).
Clients trust ``ca.pem`` (``ATP_KAFKA_SSL_CA_FILE`` defaults to it for the local broker), so
verification stays on: a client that does not trust the CA, or a broker that presents another
certificate, is refused. Everything lives in ``ATP_HOME/secrets/tls`` (0700, files 0600).

The broker certificate is renewed on the next start when it has less than 30 days left; the CA
lasts ten years.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from atp.errors import ServiceError
from atp.settings import LocalStackSettings
from connectors.secret_files import PRIVATE_UMASK, private_dir, write_private

CA_DAYS = 3650
BROKER_DAYS = 825  # the longest validity TLS clients commonly accept for a leaf certificate
RENEW_WITHIN_S = 30 * 24 * 3600
KEY_ALGORITHM = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]  # PKCS#8, as Kafka's PEM store wants


@dataclass(frozen=True)
class TlsFiles:
    ca_certificate: Path  # what clients trust
    broker_key_store: Path  # PEM: the broker's private key, its certificate, then the CA's


def tls_files(stack: LocalStackSettings) -> TlsFiles:
    return TlsFiles(ca_certificate=stack.tls_dir / "ca.pem", broker_key_store=stack.tls_dir / "broker.pem")


def _openssl(*args: str) -> str:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, umask=PRIVATE_UMASK)
    if result.returncode != 0:
        raise ServiceError(f"tls: openssl {args[0]} failed: {(result.stdout + result.stderr).strip()[-300:]}")
    return result.stdout


def _valid_for(certificate: Path, seconds: int) -> bool:
    """True when ``certificate`` exists and is still valid ``seconds`` from now."""
    if not certificate.is_file():
        return False
    result = subprocess.run(
        ["openssl", "x509", "-checkend", str(seconds), "-noout", "-in", str(certificate)], capture_output=True
    )
    return result.returncode == 0


def _make_ca(folder: Path) -> None:
    _openssl("genpkey", *KEY_ALGORITHM, "-out", str(folder / "ca.key"))
    _openssl(
        "req", "-x509", "-new", "-key", str(folder / "ca.key"), "-sha256", "-days", str(CA_DAYS),
        "-subj", "/CN=atp-stream local CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(folder / "ca.pem"),
    )  # fmt: skip


def _make_broker_certificate(folder: Path) -> None:
    key, request, certificate = folder / "broker.key", folder / "broker.csr", folder / "broker.crt"
    extensions = write_private(
        folder / "broker.ext",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    _openssl("genpkey", *KEY_ALGORITHM, "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", "/CN=127.0.0.1", "-out", str(request))
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(folder / "ca.pem"), "-CAkey", str(folder / "ca.key"),
        "-CAcreateserial", "-days", str(BROKER_DAYS), "-sha256", "-extfile", str(extensions), "-out", str(certificate),
    )  # fmt: skip
    write_private(folder / "broker.pem", key.read_text() + certificate.read_text() + (folder / "ca.pem").read_text())
    request.unlink()


def ensure_certificates(stack: LocalStackSettings) -> TlsFiles:
    """The CA and the broker's key store, made if missing (or the broker's renewed when it is about to expire)."""
    folder = private_dir(stack.tls_dir)
    files = tls_files(stack)
    if not _valid_for(files.ca_certificate, RENEW_WITHIN_S):
        _make_ca(folder)
        _make_broker_certificate(folder)
    elif not _valid_for(folder / "broker.crt", RENEW_WITHIN_S) or not files.broker_key_store.is_file():
        _make_broker_certificate(folder)
    return files
