"""The appliance's TLS: the certificate ``init`` makes, and what ``serve`` does with TLS settings.

The generated certificate is checked in-process; the ``[server]`` TLS settings are checked
through ``floki-core serve`` itself, because what matters is what a console connecting to the
port gets, and that a bad setting ends in one line on stderr rather than a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import signal
import ssl
import stat
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from floki_core.initialise import PASSWORD_ENV, InitResult, init_data_dir
from floki_core.security import tls
from tests.fixtures.processes import free_port, serve_command

ADMIN_PASSWORD = "tls-admin-Passw0rd"
SITE = "Ward 7 theatres"
FINGERPRINT_LINE = re.compile(r"Certificate SHA-256 fingerprint: (\S+)")
COLON_HEX = re.compile(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}")


def colon_hex_sha256(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@pytest.fixture
def initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InitResult:
    monkeypatch.setenv(PASSWORD_ENV, ADMIN_PASSWORD)
    return init_data_dir(tmp_path / "var", SITE)


def generated_cert(result: InitResult) -> x509.Certificate:
    return x509.load_pem_x509_certificate((result.data_dir / tls.CERT_FILE).read_bytes())


def configure(data_dir: Path, section: str, **settings: object) -> None:
    """Add settings to a section of the ``floki.toml`` that ``init`` wrote."""
    config = data_dir / "floki.toml"
    text = config.read_text(encoding="utf-8")
    header = f"\n[{section}]\n"
    assert text.count(header) == 1, text
    # JSON scalars are valid TOML values, quoting and escaping included.
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    config.write_text(text.replace(header, header + lines), encoding="utf-8")


def quiet(data_dir: Path) -> None:
    # No mDNS from these tests: they run on the real network.
    configure(data_dir, "discovery", enabled=False)


def own_certificate(directory: Path) -> tuple[Path, Path]:
    """A key and certificate of the operator's own, unlike anything ``init`` makes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "floki.example-hospital.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("floki.example-hospital.test"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "own-cert.pem", directory / "own-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def environment() -> dict[str, str]:
    return {**os.environ, PASSWORD_ENV: ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}


def serve_refuses(data_dir: Path) -> str:
    """Run ``serve`` expecting it to refuse to start; return its single stderr line."""
    done = subprocess.run(
        serve_command(data_dir, free_port()),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=30,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("floki-core: error: ")
    return lines[0]


@dataclass
class Serving:
    port: int
    printed: str


@contextlib.asynccontextmanager
async def serving(data_dir: Path, log: Path) -> AsyncIterator[Serving]:
    """``floki-core serve`` until it has said all it says on start; SIGTERM must stop it."""
    port = free_port()
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *serve_command(data_dir, port),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=environment(),
        )
        assert proc.stdout is not None
        printed: list[str] = []
        try:
            async with asyncio.timeout(30):
                while not printed or "Press Ctrl+C" not in printed[-1]:
                    line = (await proc.stdout.readline()).decode()
                    if not line:
                        raise AssertionError(
                            "serve exited before serving:\n" + "".join(printed) + log.read_text()
                        )
                    printed.append(line)
            yield Serving(port, "".join(printed))
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            assert proc.returncode == 0, log.read_text()
            assert "Traceback" not in log.read_text()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


# --- the certificate init makes ----------------------------------------------------------


def test_generated_certificate_names_localhost_and_loopback(initialised: InitResult) -> None:
    cert = generated_cert(initialised)

    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    ips = sans.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in ips
    assert ipaddress.ip_address("::1") in ips
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SITE


def test_generated_certificate_is_valid_for_about_ten_years(initialised: InitResult) -> None:
    cert = generated_cert(initialised)

    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc <= now
    remaining = cert.not_valid_after_utc - now
    assert dt.timedelta(days=3649) < remaining <= dt.timedelta(days=3650)


def test_private_key_and_tls_directory_are_owner_only(initialised: InitResult) -> None:
    key_path = initialised.data_dir / tls.KEY_FILE

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    # And the key is the one the certificate vouches for.
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert key.public_key() == generated_cert(initialised).public_key()


def test_fingerprint_is_sha256_of_the_der_in_colon_hex(initialised: InitResult) -> None:
    cert_path = initialised.data_dir / tls.CERT_FILE
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())

    shown = tls.fingerprint(cert_path)

    assert COLON_HEX.fullmatch(shown), shown
    assert shown == colon_hex_sha256(der)
    assert initialised.fingerprint == shown


# --- what serve does with the [server] TLS settings --------------------------------------


async def test_configured_certificate_replaces_the_generated_one(
    initialised: InitResult, tmp_path: Path
) -> None:
    data_dir = initialised.data_dir
    cert_path, key_path = own_certificate(tmp_path / "operator")
    configure(data_dir, "server", tls_cert=str(cert_path), tls_key=str(key_path))
    quiet(data_dir)
    configured = colon_hex_sha256(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))
    assert configured != initialised.fingerprint

    async with serving(data_dir, tmp_path / "serve.log") as server:
        pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", server.port))

    assert colon_hex_sha256(ssl.PEM_cert_to_DER_cert(pem)) == configured
    assert FINGERPRINT_LINE.findall(server.printed) == [configured]
    assert f"serving at https://localhost:{server.port}/api/v1/health" in server.printed


@pytest.mark.parametrize("only", ["tls_cert", "tls_key"])
def test_half_a_configured_pair_is_one_line_naming_both_keys(
    initialised: InitResult, tmp_path: Path, only: str
) -> None:
    cert_path, key_path = own_certificate(tmp_path / "operator")
    given = {"tls_cert": cert_path, "tls_key": key_path}[only]
    configure(initialised.data_dir, "server", **{only: str(given)})
    quiet(initialised.data_dir)

    line = serve_refuses(initialised.data_dir)

    assert "tls_cert" in line
    assert "tls_key" in line


@pytest.mark.parametrize("problem", ["garbage certificate", "directory", "missing", "garbage key"])
def test_unusable_configured_certificate_is_one_line(
    initialised: InitResult, tmp_path: Path, problem: str
) -> None:
    cert_path, key_path = own_certificate(tmp_path / "operator")
    if problem == "garbage certificate":
        cert_path.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
    elif problem == "directory":
        # Unreadable even to root, unlike a file with its permissions taken away.
        cert_path.unlink()
        cert_path.mkdir()
    elif problem == "missing":
        cert_path.unlink()
    else:
        key_path.write_bytes(os.urandom(256))
    configure(initialised.data_dir, "server", tls_cert=str(cert_path), tls_key=str(key_path))
    quiet(initialised.data_dir)

    line = serve_refuses(initialised.data_dir)

    assert "tls_cert" in line


async def test_tls_off_serves_plain_http(initialised: InitResult, tmp_path: Path) -> None:
    configure(initialised.data_dir, "server", tls=False)
    quiet(initialised.data_dir)

    async with (
        serving(initialised.data_dir, tmp_path / "serve.log") as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(f"http://127.0.0.1:{server.port}/api/v1/health") as resp,
    ):
        status = resp.status
        body = await resp.json()

    assert status == 200
    assert body["status"] == "ok"
    assert f"serving at http://localhost:{server.port}/api/v1/health" in server.printed
    # No certificate in play, so none to confirm.
    assert "fingerprint" not in server.printed
