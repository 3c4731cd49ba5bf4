"""The HTTP client every sign-in request uses: explicit timeouts, env proxies, custom CA roots.

``CODEX_CA_CERTIFICATE`` wins over ``SSL_CERT_FILE`` (empty counts as unset); its certificates are
*added* to the system roots. OpenSSL ``TRUSTED CERTIFICATE`` blocks are accepted (their trust
suffix is cut off) and CRL blocks are skipped. Importing this module imports httpx2: keep it off
the start-up path.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2

from loginkit.core._exceptions import HttpClientSetupFailure
from loginkit.core._limits import MAX_RESPONSE_BODY, Timeouts

#: Set to ``1`` to let loginkit send codes, verifiers and tokens over plain ``http://`` to a host
#: that is not a loopback address (a test provider on another machine of a private network).
INSECURE_HTTP_ENV = "LOGINKIT_ALLOW_INSECURE_HTTP"

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


class InsecureHttpRefused(httpx2.UnsupportedProtocol):
    """A plain ``http://`` request to a host that is not a loopback address, refused before any
    name lookup or connection (the code, the verifier and tokens would cross the network in
    clear). Its message names the host and the opt-in, never the URL."""


class ResponseTooLarge(httpx2.DecodingError):
    """A response body over :data:`~loginkit.core._limits.MAX_RESPONSE_BODY`: reading stopped
    at the cap. Callers classify it as a malformed response, not as a transport failure."""


class RequestDeadlineExceeded(httpx2.ReadTimeout):
    """The whole request (sending it and reading all of the body) took longer than
    ``Timeouts.total``: a timeout, whatever each read took."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and the addresses 127.0.0.0/8 and ``::1`` (brackets allowed)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_http_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``LOGINKIT_ALLOW_INSECURE_HTTP=1`` is set (only ``1`` counts)."""
    env = os.environ if environ is None else environ
    return env.get(INSECURE_HTTP_ENV, "").strip() == "1"


def refuse_insecure_http(url: httpx2.URL, environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`InsecureHttpRefused` for ``http://`` to a non-loopback host, unless the
    person opted in. ``https`` and loopback ``http`` (a local test provider) always pass."""
    if url.scheme != "http" or is_loopback_host(url.host) or insecure_http_allowed(environ):
        return
    raise InsecureHttpRefused(
        f"refused to send a request over plain http to {url.host}, which is not a loopback"
        f" address (codes and tokens would cross the network unencrypted); use an https issuer,"
        f" or set {INSECURE_HTTP_ENV}=1 to allow it"
    )


class _BoundedStream(httpx2.SyncByteStream):
    """The response body, cut at ``cap`` bytes and at the request's ``deadline``."""

    def __init__(self, inner: httpx2.SyncByteStream, cap: int, deadline: float) -> None:
        self._inner = inner
        self._cap = cap
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if seen > self._cap:
                raise ResponseTooLarge(f"response body larger than {self._cap} bytes")
            if time.monotonic() > self._deadline:
                raise RequestDeadlineExceeded("the whole request took longer than its deadline")
            yield chunk

    def close(self) -> None:
        self._inner.close()


_DEADLINE = "loginkit_deadline"


def _guards(
    timeouts: Timeouts, environ: Mapping[str, str] | None, cap: int
) -> dict[str, list[Any]]:
    """The request and response hooks every request of :func:`build_client` goes through."""

    def on_request(request: httpx2.Request) -> None:
        refuse_insecure_http(request.url, environ)
        request.extensions[_DEADLINE] = time.monotonic() + timeouts.total

    def on_response(response: httpx2.Response) -> None:
        deadline = response.request.extensions.get(_DEADLINE)
        if not isinstance(deadline, float):
            deadline = time.monotonic() + timeouts.total
        if time.monotonic() > deadline:
            raise RequestDeadlineExceeded("the whole request took longer than its deadline")
        stream = response.stream
        if isinstance(stream, httpx2.SyncByteStream):
            response.stream = _BoundedStream(stream, cap, deadline)

    return {"request": [on_request], "response": [on_response]}


def build_client(
    timeouts: Timeouts,
    environ: Mapping[str, str] | None = None,
    *,
    max_body: int = MAX_RESPONSE_BODY,
) -> httpx2.Client:
    """A client honouring ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` (SOCKS too) and the CA rules.

    Redirects are not followed: a token endpoint that redirects is answered as a rejection. Every
    request is guarded before it leaves: plain ``http`` to a non-loopback host raises
    :class:`InsecureHttpRefused` (unless ``LOGINKIT_ALLOW_INSECURE_HTTP=1``); every body is
    read through a cap (``max_body``, :class:`ResponseTooLarge`) and the ``timeouts.total``
    deadline (:class:`RequestDeadlineExceeded`). Both are raised by ``client.request`` itself,
    as ``httpx2.HTTPError`` subclasses, so every caller's handler sees them.
    """
    context = build_ssl_context(environ)
    try:
        return httpx2.Client(
            verify=context,
            timeout=timeouts.to_httpx(),
            trust_env=True,
            follow_redirects=False,
            event_hooks=_guards(timeouts, environ, max_body),
        )
    except Exception as exc:  # proxy URL errors and the like surface here
        bundle = selected_ca_bundle(environ)
        where = (
            f"while using CA bundle from {bundle[0]} ({bundle[1]})"
            if bundle
            else "while using system root certificates"
        )
        raise HttpClientSetupFailure(f"Failed to build HTTP client {where}: {exc}") from exc
