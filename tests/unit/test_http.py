"""HTTP client set-up (custom CA bundles): loginkit.oauth._http."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from loginkit.core._exceptions import HttpClientSetupFailure
from loginkit.oauth._http import build_ssl_context, load_pem_certificates


def test_trusted_certificate_blocks_are_trimmed_and_crls_skipped() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    pem = ca.cert_pem.bytes().decode()
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    trusted = base64.b64encode(der + b"\x30\x03\x02\x01\x00").decode()  # cert + aux trust data
    bundle = (
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
        f"-----BEGIN TRUSTED CERTIFICATE-----\n{trusted}\n-----END TRUSTED CERTIFICATE-----\n"
    )
    assert load_pem_certificates(bundle) == [der]


def test_custom_ca_errors(tmp_path: Path) -> None:
    with pytest.raises(
        HttpClientSetupFailure,
        match=r"Failed to read CA certificate file .* selected by SSL_CERT_FILE",
    ):
        build_ssl_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    with pytest.raises(
        HttpClientSetupFailure, match=r"no certificates found in PEM file\. If you set"
    ):
        build_ssl_context({"CODEX_CA_CERTIFICATE": str(empty), "SSL_CERT_FILE": "/ignored"})
    unset = build_ssl_context({"CODEX_CA_CERTIFICATE": "", "SSL_CERT_FILE": ""})
    assert unset.get_ca_certs() == build_ssl_context({}).get_ca_certs(), (
        "empty variables select no bundle: the system roots only, as when they are not set"
    )


def test_custom_ca_is_added_to_system_roots(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = build_ssl_context({"CODEX_CA_CERTIFICATE": str(bundle)})
    subjects = [c.get("subject") for c in context.get_ca_certs()]
    assert len(subjects) > 1, "system roots are kept"
