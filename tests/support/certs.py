"""Certificates made in the test with openssl (tests/integration/security/): a CA,
a server certificate for 127.0.0.1 (PEM, and PKCS#12 for Kafka's keystore) and a client
certificate for mutual TLS. Nothing is kept in the repository."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "changeit"  # of the PKCS#12 keystore only; the PEM keys are unencrypted


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    server_p12: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    binary = shutil.which("openssl")
    assert binary, "openssl not found (Debian package openssl)"
    done = subprocess.run(
        [binary, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"openssl {args[0]}: {done.stderr}"


def _signed(directory: Path, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
    key, csr, cert = (directory / f"{name}.{x}" for x in ("key", "csr", "crt"))
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", key, cwd=directory)  # fmt: skip
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr, cwd=directory)
    _openssl("x509", "-req", "-in", csr, "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", cert,
             cwd=directory)  # fmt: skip
    return cert, key


def make(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ccmon test CA",
             cwd=directory)  # fmt: skip
    server_cert, server_key = _signed(
        directory,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    client_cert, client_key = _signed(
        directory, "client", "/CN=ccmon-worker", "extendedKeyUsage=clientAuth\n"
    )
    p12 = directory / "server.p12"
    _openssl("pkcs12", "-export", "-in", server_cert, "-inkey", server_key, "-certfile",
             "ca.crt", "-name", "server", "-passout", f"pass:{PASSWORD}", "-out", p12,
             cwd=directory)  # fmt: skip
    return Certificates(directory / "ca.crt", server_cert, server_key, p12, client_cert, client_key)
