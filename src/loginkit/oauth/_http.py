"""The HTTP client every sign-in request uses: explicit timeouts, env proxies, custom CA roots.

``CODEX_CA_CERTIFICATE`` wins over ``SSL_CERT_FILE`` (empty counts as unset); its certificates are
*added* to the system roots. OpenSSL ``TRUSTED CERTIFICATE`` blocks are accepted (their trust
suffix is cut off) and CRL blocks are skipped. Importing this module imports httpx2: keep it off
the start-up path.
"""

from __future__ import annotations

import base64
import os
import re
import ssl
import threading
from collections.abc import Mapping

import httpx2

from loginkit.core._exceptions import HttpClientSetupFailure
from loginkit.core._limits import Timeouts

CA_ENV_VARS = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")
CA_HINT = (
    "If you set CODEX_CA_CERTIFICATE or SSL_CERT_FILE, ensure it points to a PEM file containing"
    " one or more CERTIFICATE blocks, or unset it to use system roots."
)


def selected_ca_bundle(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(env var name, path)`` of the custom CA bundle in force, or ``None`` for system roots."""
    env = os.environ if environ is None else environ
    for name in CA_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


def _der_length(der: bytes) -> int:
    """Total length of the first DER element (tag + length + content)."""
    if len(der) < 2:
        raise ValueError("truncated DER")
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        raise ValueError("unsupported DER length")
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def load_pem_certificates(pem: str) -> list[bytes]:
    """DER certificates from a PEM bundle; ``TRUSTED CERTIFICATE`` is trimmed to the certificate."""
    certs: list[bytes] = []
    for label, body in _PEM_BLOCK.findall(pem):
        if label not in ("CERTIFICATE", "TRUSTED CERTIFICATE"):
            continue  # CRLs, keys and the like are not roots
        der = base64.b64decode("".join(body.split()), validate=True)
        if label == "TRUSTED CERTIFICATE":
            der = der[: _der_length(der)]
        certs.append(der)
    return certs


_CONTEXTS: dict[tuple[str, str, float] | None, ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def build_ssl_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """System roots plus the custom bundle's certificates, if one is selected.

    Loading the system roots takes about a quarter of a second, so the context is built once per
    selected bundle (and bundle file version) and reused; the sign-in pre-warms it while the person
    is still in the browser.
    """
    selected = selected_ca_bundle(environ)
    key: tuple[str, str, float] | None = None
    if selected is not None:
        try:
            mtime = os.stat(selected[1]).st_mtime
        except OSError:
            mtime = -1.0
        key = (selected[0], selected[1], mtime)
    with _CONTEXTS_LOCK:
        cached = _CONTEXTS.get(key)
        if cached is None:
            cached = _build_ssl_context(selected)
            _CONTEXTS[key] = cached
        return cached


def _build_ssl_context(selected: tuple[str, str] | None) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context()
    except ssl.SSLError as exc:  # pragma: no cover - a broken OpenSSL install
        raise HttpClientSetupFailure(
            f"Failed to build HTTP client while using system root certificates: {exc}"
        ) from exc
    if selected is None:
        return context
    env_name, path = selected
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            pem = handle.read()
    except OSError as exc:
        raise HttpClientSetupFailure(
            f"Failed to read CA certificate file {path} selected by {env_name}: {exc}. {CA_HINT}"
        ) from exc
    try:
        certs = load_pem_certificates(pem)
    except ValueError as exc:
        raise HttpClientSetupFailure(
            f"Failed to load CA certificates from {path} selected by {env_name}: "
            f"failed to parse PEM file: {exc}. {CA_HINT}"
        ) from exc
    if not certs:
        raise HttpClientSetupFailure(
            f"Failed to load CA certificates from {path} selected by {env_name}: "
            f"no certificates found in PEM file. {CA_HINT}"
        )
    for index, der in enumerate(certs, start=1):
        try:
            context.load_verify_locations(cadata=der)
        except ssl.SSLError as exc:
            raise HttpClientSetupFailure(
                f"Failed to parse certificate #{index} from {path} selected by {env_name}: "
                f"{exc}. {CA_HINT}"
            ) from exc
    return context


def build_client(timeouts: Timeouts, environ: Mapping[str, str] | None = None) -> httpx2.Client:
    """A client honouring ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` (SOCKS too) and the CA rules.

    Redirects are not followed: a token endpoint that redirects is answered as a rejection.
    """
    context = build_ssl_context(environ)
    try:
        return httpx2.Client(
            verify=context,
            timeout=timeouts.to_httpx(),
            trust_env=True,
            follow_redirects=False,
        )
    except Exception as exc:  # proxy URL errors and the like surface here
        bundle = selected_ca_bundle(environ)
        where = (
            f"while using CA bundle from {bundle[0]} ({bundle[1]})"
            if bundle
            else "while using system root certificates"
        )
        raise HttpClientSetupFailure(f"Failed to build HTTP client {where}: {exc}") from exc
