"""The link-first start's discovery GET (``oauth/_wellknown.py``): what it answers, what it
leaves to the full client, and that it agrees with the full client's rules."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st
from support.discovery import Issuer, Script, document, http_answer, issuer, plain

from loginkit.core._exceptions import DiscoveryError
from loginkit.core._profiles import generic_profile
from loginkit.oauth import _lighthttp
from loginkit.oauth._lighthttp import TIMED_OUT_CONNECTING, TIMED_OUT_WAITING, Dechunker, split_url
from loginkit.oauth._pkce import build_authorize_url
from loginkit.oauth._provider import Provider
from loginkit.oauth._wellknown import Discovered, fetch_discovery, issuer_matches
from loginkit.signin._prelinked import generic_link, prelink
from loginkit.store._home import provider_home
from loginkit.store._layout import light_provider_home


@pytest.fixture(autouse=True)
def _no_proxy_or_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.delenv("CODEX_CA_CERTIFICATE", raising=False)


def test_a_usable_document_is_read_with_one_request() -> None:
    with issuer() as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.failure is None
        assert found.document == document(server.url)
        assert server.requests == ["GET /.well-known/openid-configuration HTTP/1.1"]


def test_a_chunked_document_is_read() -> None:
    def chunked(url: str) -> bytes:
        body = json.dumps(document(url)).encode()
        parts = [body[:7], body[7:40], body[40:]]
        chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + chunks + b"0\r\nX-Trailer: yes\r\n\r\n"

    with issuer(chunked) as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.document == document(server.url)


def test_a_body_that_ends_with_the_connection_is_read() -> None:
    def until_close(url: str) -> bytes:
        return b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps(document(url)).encode()

    with issuer(until_close) as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.document == document(server.url)


def _body(url: str, **changes: object) -> bytes:
    return http_answer(json.dumps(document(url, **changes)).encode())


#: Answers the light GET leaves to the full client, which words them (or, for a redirect, an
#: error status, a body it doubts, refuses them itself).
LEFT_TO_THE_FULL_CLIENT = {
    "not found": lambda url: http_answer(b"{}", "404 Not Found"),
    "redirect": lambda url: http_answer(b"", "302 Found", (f"Location: {url}/elsewhere",)),
    "not json": lambda url: http_answer(b"<html>sign in</html>"),
    "json array": lambda url: http_answer(b"[1, 2]"),
    "another issuer": lambda url: _body(url, issuer="https://evil.example"),
    "no authorization endpoint": lambda url: _body(url, authorization_endpoint=None),
    "no token endpoint": lambda url: _body(url, token_endpoint=None),
    "javascript endpoint": lambda url: _body(url, authorization_endpoint="javascript:alert(1)"),
    "gzip body": lambda url: http_answer(b"\x1f\x8b", headers=("Content-Encoding: gzip",)),
    "two lengths": lambda url: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    ),
    "length and chunked": lambda url: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"
    ),
    "bad chunk size": lambda url: (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ),
    "over the cap": lambda url: http_answer(b" " * (1024 * 1024 + 1) + b"{}"),
    "not http": lambda url: b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "closed early": lambda url: b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{",
    "header name not a token": lambda url: http_answer(
        json.dumps(document(url)).encode(), headers=("X(y): z",)
    ),
    "control character in a value": lambda url: http_answer(
        json.dumps(document(url)).encode(), headers=("X-Note: a\x00b",)
    ),
    "endpoint repeats a parameter": lambda url: _body(
        url, authorization_endpoint=f"{url}/authorize?response_type=token"
    ),
    "issuer with two slashes": lambda url: _body(url, issuer=f"{url}//"),
}


@pytest.mark.parametrize("case", sorted(LEFT_TO_THE_FULL_CLIENT))
def test_anything_but_a_plain_usable_answer_is_left_to_the_full_client(case: str) -> None:
    with issuer(LEFT_TO_THE_FULL_CLIENT[case]) as server:
        assert fetch_discovery(server.url) is None
        assert len(server.requests) == 1


def test_a_provider_that_never_answers_is_a_timeout_handed_on() -> None:
    with issuer(lambda url: None) as server:
        found = fetch_discovery(server.url, read=0.3)
        assert found is not None and found.document is None
        assert found.failure == f"{TIMED_OUT_WAITING}: timed out"
        assert server.connections == 1


def test_the_whole_request_has_one_deadline() -> None:
    def drip(url: str) -> bytes | None:
        return None  # the head never completes; the deadline, not the read timeout, ends it

    with issuer(drip) as server:
        found = fetch_discovery(server.url, read=5, total=0.3)
        assert found is not None and found.failure == f"{TIMED_OUT_WAITING}: timed out"


def test_a_connect_that_times_out_is_a_timeout_handed_on() -> None:
    # A listener whose accept queue is full: Linux drops further SYNs, so connect() hangs.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        port = listener.getsockname()[1]
        found = fetch_discovery(f"http://127.0.0.1:{port}", connect=0.3)
        assert found is not None and found.failure == f"{TIMED_OUT_CONNECTING}: timed out"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_refused_connection_is_handed_on_in_the_full_clients_words() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = fetch_discovery(f"http://127.0.0.1:{port}")
    assert found is not None and found.document is None
    assert found.failure == "connection failed: [Errno 111] Connection refused"


@pytest.mark.parametrize(
    ("issuer_url", "env"),
    [
        ("http://idp.example.com", {}),  # plain http beyond loopback: the full client refuses
        ("http://127.0.0.08:9", {}),  # no address to inet_aton: a name for the resolver
        ("http://127.0.0.010:9", {}),
        ("http://127.0.0.1:9", {"CODEX_CA_CERTIFICATE": "/etc/corp-ca.pem"}),
        ("http://127.0.0.1:9", {"SSL_CERT_FILE": "/etc/corp-ca.pem"}),
        ("http://127.0.0.1:9", {"HTTPS_PROXY": "http://proxy:3128"}),
        ("http://127.0.0.1:9", {"all_proxy": "socks5://proxy:1080"}),
        ("https://127.0.0.1:9", {"CODEX_CA_CERTIFICATE": "/etc/corp-ca.pem"}),
        ("https://127.0.0.1:9", {"SSL_CERT_FILE": "/etc/corp-ca.pem"}),
        ("http://user@127.0.0.1:9", {}),
        ("http://127.0.0.1:9/?tenant=1", {}),
        ("http://[::1", {}),
    ],
)
def test_what_only_the_full_client_can_apply_is_left_to_it(
    monkeypatch: pytest.MonkeyPatch, issuer_url: str, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert fetch_discovery(issuer_url, connect=0.5) is None


@pytest.fixture
def test_ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    """A test CA, and a hashed certificate directory (``openssl rehash``) that trusts it."""
    ca = trustme.CA()
    certs = tmp_path / "certs"
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / "test-ca.pem"))
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    return ca, str(certs)


def _https_issuer(ca: trustme.CA, *names: str) -> AbstractContextManager[Issuer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return issuer(plain, tls=context)


def test_https_is_read_with_the_hashed_system_roots_and_verified(
    test_ca: tuple[trustme.CA, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certs = test_ca
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with _https_issuer(ca, "127.0.0.1") as server:
        assert fetch_discovery(server.url, connect=2, read=2) is None, (
            "an unknown root: asked again"
        )
        monkeypatch.setenv("SSL_CERT_DIR", certs)
        found = fetch_discovery(server.url, connect=2, read=2)
        assert found is not None and found.document is not None
        assert found.document["issuer"] == server.url
    with _https_issuer(ca, "localhost") as server:
        assert fetch_discovery(server.url, connect=2, read=2) is None, "not 127.0.0.1's certificate"


def test_the_provider_takes_the_answer_instead_of_asking_again() -> None:
    with issuer() as server:
        found = fetch_discovery(server.url)
        assert found is not None
        provider = Provider(generic_profile(server.url, "cli"), server.url)
        provider.seed(found)
        profile = provider.discover(authorize=True)
        assert profile.authorization_endpoint_url == f"{server.url}/authorize"
        assert len(server.requests) == 1
        provider.close()


def test_a_timeout_handed_on_is_the_runs_discovery_failure_without_a_second_request() -> None:
    provider = Provider(generic_profile("http://127.0.0.1:9", "cli"), "http://127.0.0.1:9")
    provider.seed(Discovered("http://127.0.0.1:9", None, TIMED_OUT_WAITING))
    with pytest.raises(DiscoveryError) as raised:
        provider.discover(authorize=True)
    assert raised.value.reason == (
        "could not read http://127.0.0.1:9/.well-known/openid-configuration:"
        " timed out waiting for a response"
    )
    with pytest.raises(ValueError, match="not this provider's"):
        provider.seed(Discovered("http://127.0.0.1:9", None, TIMED_OUT_WAITING))
    other = Provider(generic_profile("http://127.0.0.1:8", "cli"), "http://127.0.0.1:8")
    with pytest.raises(ValueError, match="not this provider's"):
        other.seed(Discovered("http://127.0.0.1:9", None, TIMED_OUT_WAITING))


def test_the_generic_link_is_the_one_the_full_flow_builds() -> None:
    with issuer() as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.document is not None
        endpoint = found.document["authorization_endpoint"]
        assert isinstance(endpoint, str)
        ready = prelink(0, generic_link(endpoint, "generic-cli"))
        assert ready is not None
        try:
            provider = Provider(generic_profile(server.url, "generic-cli"), server.url)
            provider.seed(found)
            profile = provider.discover(authorize=True)
            assert ready.redirect_uri == f"http://127.0.0.1:{ready.port}/auth/callback"
            assert ready.nonce is not None and len(ready.nonce) == 43
            assert ready.auth_url == build_authorize_url(
                profile,
                issuer=server.url,
                client_id="generic-cli",
                redirect_uri=ready.redirect_uri,
                pkce=ready.pkce,
                state=ready.state,
                workspace_id=None,
                nonce=ready.nonce,
            )
            assert ready.nonce not in repr(ready)
        finally:
            ready.close()


HOSTS = st.sampled_from(
    ["127.0.0.1", "LOCALHOST", "idp.example.com", "Login.Example.ORG", "[::1]", "[2001:DB8::1]"]
)
PATHS = st.lists(
    st.text(alphabet="abcXYZ019-._~%!$&'()*+,;=:", min_size=1, max_size=8), max_size=3
).map(lambda parts: "".join("/" + p for p in parts))


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=HOSTS,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=PATHS,
    slash=st.booleans(),
)
def test_the_light_split_agrees_with_urlsplit(
    scheme: str, host: str, port: int | None, path: str, slash: bool
) -> None:
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}{path}{'/' if slash else ''}"
    found = split_url(url)
    assert found is not None
    parts = urlsplit(url)
    assert (found.hostname, found.path, found.port) == (
        parts.hostname,
        parts.path,
        parts.port or (443 if scheme == "https" else 80),
    )


@given(text=st.text(max_size=40))
def test_the_light_split_never_accepts_what_urlsplit_reads_differently(text: str) -> None:
    url = "https://" + text
    found = split_url(url)
    if found is None:
        return
    parts = urlsplit(url)
    assert (found.hostname, found.path) == (parts.hostname, parts.path)


@given(host=HOSTS, path=PATHS, client_id=st.text(min_size=1, max_size=30))
def test_the_link_first_start_names_the_same_provider_home(
    host: str, path: str, client_id: str
) -> None:
    issuer_url = f"https://{host}{path}"
    light = light_provider_home(issuer_url, client_id)
    assert light is not None
    assert light == str(provider_home(issuer_url, client_id))


def test_an_unusual_config_home_is_left_to_the_full_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", f"{tmp_path}//x/../y")
    assert light_provider_home("https://idp.example.com", "cli") is None
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert light_provider_home("https://idp.example.com", "cli") == str(
        provider_home("https://idp.example.com", "cli")
    )


def test_no_endpoint_is_guessed_for_a_document_without_one() -> None:
    def no_authorize(url: str) -> bytes:
        return http_answer(json.dumps(document(url, authorization_endpoint=None)).encode())

    with issuer(no_authorize) as server:
        provider = Provider(generic_profile(server.url, "cli"), server.url)
        # RFC 8414: a device-only provider may omit it; the device flow goes on ...
        assert provider.discover().token_endpoint_url == f"{server.url}/token"
        # ... a browser sign-in cannot, and never falls back to {issuer}/oauth/authorize.
        with pytest.raises(DiscoveryError, match="gives no usable authorization_endpoint"):
            provider.discover(authorize=True)
        assert len(server.requests) == 1
        provider.close()


def test_an_endpoint_keeps_its_query_and_one_with_a_fragment_is_refused() -> None:
    def with_query(url: str) -> bytes:
        changed = document(url, authorization_endpoint=f"{url}/authorize?tenant=a%20b")
        return http_answer(json.dumps(changed).encode())

    with issuer(with_query) as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.document is not None
        endpoint = found.document["authorization_endpoint"]
        assert isinstance(endpoint, str)
        ready = prelink(0, generic_link(endpoint, "generic-cli"))
        assert ready is not None
        ready.close()
        # RFC 6749 3.1: the endpoint's own query is retained, the parameters follow it.
        assert ready.auth_url.startswith(f"{server.url}/authorize?tenant=a%20b&response_type=code&")
    with issuer(lambda url: _body(url, authorization_endpoint=f"{url}/authorize#top")) as server:
        assert fetch_discovery(server.url) is None, "left to the full client, which refuses it"
        provider = Provider(generic_profile(server.url, "cli"), server.url)
        with pytest.raises(DiscoveryError, match="no usable authorization_endpoint"):
            provider.discover(authorize=True)
        provider.close()


def _chunked_answer(url: str) -> bytes:
    body = json.dumps(document(url)).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 50]), body[i : i + 50]) for i in range(0, len(body), 50)
    )
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


@pytest.mark.parametrize("script", [plain, _chunked_answer], ids=["length", "chunked"])
def test_a_document_dripped_one_byte_per_segment_is_read(script: Script) -> None:
    with issuer(script, drip=True) as server:
        found = fetch_discovery(server.url)
        assert found is not None and found.document == document(server.url)


@given(
    body=st.binary(max_size=3000),
    sizes=st.lists(st.integers(1, 700), min_size=1, max_size=20),
    cuts=st.lists(st.integers(1, 400), max_size=40),
    extension=st.sampled_from([b"", b";name=value", b" ;x"]),
    trailer=st.sampled_from([b"", b"X-Digest: abc\r\n"]),
)
def test_the_dechunker_reads_any_split_of_any_chunking(
    body: bytes, sizes: list[int], cuts: list[int], extension: bytes, trailer: bytes
) -> None:
    encoded, at, turn = b"", 0, 0
    while at < len(body):
        piece = body[at : at + sizes[turn % len(sizes)]]
        encoded += b"%X%s\r\n%s\r\n" % (len(piece), extension, piece)
        at, turn = at + len(piece), turn + 1
    encoded += b"0\r\n" + trailer + b"\r\n"
    dechunker = Dechunker()
    start = 0
    for cut in [*cuts, len(encoded)]:
        assert not dechunker.done, "done before the last byte"
        dechunker.feed(encoded[start : start + cut])
        start += cut
        if start >= len(encoded):
            break
    dechunker.feed(encoded[start:])
    assert dechunker.done and bytes(dechunker.body) == body


def test_every_address_is_tried_as_the_full_client_tries_them(
    monkeypatch: pytest.MonkeyPatch, test_ca: tuple[trustme.CA, str]
) -> None:
    # A family this kernel makes no TCP socket of, then a listener whose accept queue is full
    # (a blackhole), then the issuer: the first two are skipped as socket.create_connection
    # (the full client's) skips them. (https: plain http goes to loopback addresses only.)
    ca, certs = test_ca
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", certs)
    blackhole = socket.create_server(("127.0.0.1", 0), backlog=0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(blackhole.getsockname())
        fillers.append(filler)
    try:
        with _https_issuer(ca, "127.0.0.1") as server:
            stream = socket.SOCK_STREAM
            answers = [
                (socket.AF_PACKET, stream, 0, "", ("lo", 0)),
                (socket.AF_INET, stream, 6, "", blackhole.getsockname()),
                (socket.AF_INET, stream, 6, "", ("127.0.0.1", server.port)),
            ]
            resolver = _lighthttp._socket  # type: ignore[attr-defined]
            monkeypatch.setattr(resolver, "getaddrinfo", lambda *args: answers)
            found = fetch_discovery(server.url, connect=0.3)
            assert found is not None and found.document == document(server.url)
    finally:
        for filler in fillers:
            filler.close()
        blackhole.close()


def test_the_issuer_must_be_identical_but_for_one_trailing_slash() -> None:
    assert issuer_matches("https://idp.example", "https://idp.example")
    assert issuer_matches("https://idp.example/", "https://idp.example")
    assert issuer_matches("https://idp.example", "https://idp.example/")
    assert not issuer_matches("https://idp.example//", "https://idp.example")
    assert not issuer_matches("https://IDP.example", "https://idp.example")
    assert not issuer_matches(["https://idp.example"], "https://idp.example")
