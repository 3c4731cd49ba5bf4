"""The discovery document (OpenID Connect Discovery 1.0 section 4, RFC 8414 section 3): where it
is, what makes it usable, and one GET of it with light modules only for the link-first start.

A generic sign-in must read ``{issuer}/.well-known/openid-configuration`` before its link can be
printed (the link is the document's ``authorization_endpoint``). The full client
(:mod:`loginkit.oauth._http`) costs a tenth of a second of imports before that request leaves, so
the link-first start asks with :func:`fetch_discovery`: ``_socket`` for plain ``http`` to a loopback
issuer, plus ``ssl`` for ``https`` (the same system roots the full client trusts), and the C JSON
scanner. It answers only the plain case, with the full client's rules, never looser:

- plain ``http`` only to a loopback host (the full client refuses any other unless
  ``LOGINKIT_ALLOW_INSECURE_HTTP=1``; with that opt-in, the full client asks);
- no proxy variable, no ``CODEX_CA_CERTIFICATE`` and no ``SSL_CERT_FILE`` but OpenSSL's
  default: those are the full client's to apply;
- the same connect, read and whole-request budgets (:mod:`loginkit.core._budgets`) and the same
  1 MiB body cap; no redirect followed;
- ``200`` with a JSON object that names this issuer (:func:`issuer_matches`) and has both
  endpoints a browser sign-in needs (:func:`missing_endpoints`, :data:`BROWSER_ENDPOINTS`).

A failure the full client would meet the same way (a budget that ran out, a name that does not
resolve, a connection refused on every address) returns a :class:`Discovered` with ``failure``
set, in the full client's words, so the person does not wait for it twice. Anything else
(another status, a TLS failure, a body the parser doubts) returns None and the full CLI asks
again and words it: a second request only when the first could not be used. Builtin modules
only (``ssl`` for ``https``).
"""

from __future__ import annotations

import _socket
import os

from loginkit.core._budgets import DEFAULT_CONNECT, DEFAULT_READ, DEFAULT_TOTAL, MAX_RESPONSE_BODY
from loginkit.core._lightjson import loads

WELL_KNOWN = "/.well-known/openid-configuration"
#: The endpoint every use of the document needs (RFC 8414 section 2: REQUIRED unless only the
#: implicit grant is offered, which loginkit never uses).
TOKEN_ENDPOINT = ("token_endpoint",)
#: What a browser sign-in needs besides (RFC 8414 section 2: a device-only provider may omit the
#: authorization endpoint, so only the browser flow asks for it).
BROWSER_ENDPOINTS = ("authorization_endpoint", "token_endpoint")
#: Largest response head (status line and headers) the light GET reads.
MAX_HEAD = 64 * 1024
#: The words of a budget that ran out, as the full client's classification says them.
TIMED_OUT_CONNECTING = "timed out connecting"
TIMED_OUT_WAITING = "timed out waiting for a response"

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_PATH_CHARS = _HOST_CHARS | frozenset("_~/%!$&'()*+,;=:")
_HEX = frozenset("0123456789abcdefABCDEF")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


def discovery_url(issuer: str) -> str:
    """Where ``issuer``'s document is: the issuer without its trailing slash, plus
    :data:`WELL_KNOWN` (Discovery 1.0 section 4: the path is appended, never substituted)."""
    return issuer.rstrip("/") + WELL_KNOWN


def issuer_matches(named: object, issuer: str) -> bool:
    """Whether the document's ``issuer`` value ``named`` is this issuer (Discovery 1.0 section
    4.3: it MUST be identical; one trailing slash is the only difference forgiven, since
    ``--issuer`` is typed by a person)."""
    if not isinstance(named, str):
        return False
    return named in (issuer, issuer + "/") or named + "/" == issuer


def missing_endpoints(
    document: dict[str, object], names: tuple[str, ...] = TOKEN_ENDPOINT
) -> list[str]:
    """The ``names`` that the document lacks or gives as something other than an absolute
    ``http(s)`` URL without a fragment (RFC 6749 section 3.1 forbids one). A caller that skips
    this check ends up guessing an endpoint, or sending the person's browser to a
    ``javascript:`` or ``file:`` address."""
    missing = []
    for name in names:
        value = document.get(name)
        usable = (
            isinstance(value, str)
            and value.lower().startswith(("https://", "http://"))
            and "#" not in value
        )
        if usable and name == "authorization_endpoint" and isinstance(value, str):
            usable = not _names_our_parameters(value)
        if not usable:
            missing.append(name)
    return missing


def _names_our_parameters(endpoint: str) -> bool:
    """Whether the endpoint's own query names a parameter the sign-in adds (RFC 6749 section
    3.1: a parameter MUST NOT appear more than once), or hides one in percent-encoding."""
    from loginkit.oauth._pkce import AUTHORIZE_PARAMETERS

    query = endpoint.partition("?")[2]
    keys = [pair.partition("=")[0] for pair in query.split("&") if pair]
    return any(key in AUTHORIZE_PARAMETERS or "%" in key or "+" in key for key in keys)


class SplitUrl:
    """An ``http(s)`` URL the light GET can ask: ``scheme``, ``host`` as written (brackets kept),
    ``hostname`` (lower case, no brackets: what ``urllib.parse.urlsplit`` gives), ``port`` and
    ``path``."""

    __slots__ = ("host", "hostname", "path", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: int, path: str) -> None:
        self.scheme = scheme
        self.host = host
        self.hostname = host.strip("[]").lower()
        self.port = port
        self.path = path


def split_url(url: str) -> SplitUrl | None:
    """``url`` taken apart when it is a plain ``http(s)://host[:port][/path]`` (ASCII, no user
    info, query, fragment or percent sign in the host), else None. For every URL it accepts,
    ``hostname`` and ``path`` are what ``urllib.parse.urlsplit`` gives (a test proves it)."""
    for scheme in ("https", "http"):
        if url.startswith(scheme + "://"):
            break
    else:
        return None
    rest = url[len(scheme) + 3 :]
    netloc, slash, path = rest.partition("/")
    path = slash + path
    if not all(ch in _PATH_CHARS for ch in path):
        return None
    host, port_text = netloc, ""
    if netloc.startswith("["):
        host, bracket, after = netloc.partition("]")
        if not bracket or (after and not after.startswith(":")):
            return None
        host += "]"
        port_text = after[1:]
        if after == ":":
            return None
        try:
            _socket.inet_pton(_socket.AF_INET6, host[1:-1])
        except (OSError, ValueError):
            return None
    elif ":" in netloc:
        host, _, port_text = netloc.partition(":")
        if not port_text:
            return None
    if not host or (not host.startswith("[") and not all(ch in _HOST_CHARS for ch in host)):
        return None
    if port_text:
        if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
            return None
        port = int(port_text)
        if not 0 < port <= 65535:
            return None
    else:
        port = 443 if scheme == "https" else 80
    return SplitUrl(scheme, host, port, path)


class Discovered:
    """What the link-first start learned about one issuer's document: the ``document``
    (checked: a JSON object naming this issuer, with both endpoints), or, when the request
    failed as the full client's would (a budget ran out, no connection could be made),
    ``failure`` (the full client's words for it). Handed to the run's
    :class:`~loginkit.oauth._provider.Provider` (``seed``), so the document is asked for once."""

    __slots__ = ("document", "failure", "issuer")

    def __init__(
        self, issuer: str, document: dict[str, object] | None, failure: str | None = None
    ) -> None:
        self.issuer = issuer
        self.document = document
        self.failure = failure

    def __repr__(self) -> str:
        found = "document" if self.document is not None else self.failure
        return f"Discovered({self.issuer!r}, {found})"


def _is_loopback(hostname: str) -> bool:
    """``localhost``, ``::1`` or 127.0.0.0/8 in canonical dotted decimal (``127.0.0.08`` is no
    address to ``inet_aton``, so the resolver would look it up as a name)."""
    if hostname in {"localhost", "::1"}:
        return True
    parts = hostname.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(p.isdigit() and p.isascii() and p == str(int(p)) and int(p) < 256 for p in parts)
    )


def _is_loopback_address(address: str) -> bool:
    """An address ``getaddrinfo`` returned is a loopback one."""
    return address == "::1" or (address.startswith("127.") and _is_loopback(address))


def _environment_allows() -> bool:
    """No proxy variable, no ``CODEX_CA_CERTIFICATE`` and no ``SSL_CERT_FILE`` other than
    OpenSSL's own default: the full client applies them (and refuses a bundle it cannot read
    before any link, even for a plain-http issuer)."""
    for name, value in os.environ.items():
        lowered = name.lower()
        if not value.strip():
            continue
        if lowered.endswith("_proxy") and lowered != "no_proxy":
            return False
        if name == "CODEX_CA_CERTIFICATE":
            return False
        if name == "SSL_CERT_FILE":
            import _ssl

            default = _ssl.get_default_verify_paths()[1]
            if os.path.realpath(value.strip()) != os.path.realpath(default):
                return False
    return True


class _HandOn(Exception):
    """A failure the full client would meet the same way (a budget ran out, a connection or
    name lookup failed), in its words: handed on so the person does not wait twice."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


class _Doubt(Exception):
    """Anything the light GET does not answer: the full client asks and words it."""


def _failed_to_connect(exc: OSError) -> _HandOn:
    """The full client's words for a connection that could not be made."""
    if isinstance(exc, TimeoutError):
        return _HandOn(f"{TIMED_OUT_CONNECTING}: {exc}")
    return _HandOn(f"connection failed: {exc}")


def _connect(url: SplitUrl, deadline: float, connect: float) -> _socket.socket:
    """A connection to the first address that answers, each tried within the connect budget,
    as ``socket.create_connection`` (the full client's) does; the last failure is handed on."""
    import time

    try:
        # ASCII bytes: a str would load the idna codec (and ``re``, ``stringprep``) first.
        host = url.hostname.encode("ascii")
        infos = _socket.getaddrinfo(host, url.port, 0, _socket.SOCK_STREAM)
    except OSError as exc:
        raise _failed_to_connect(exc) from None
    if url.scheme == "http" and not all(_is_loopback_address(str(info[4][0])) for info in infos):
        raise _Doubt  # plain http goes to loopback only: the full client decides the rest
    last: OSError | None = None
    for family, kind, proto, _name, address in infos:
        try:
            sock = _socket.socket(family, kind, proto)
        except OSError as exc:  # EAFNOSUPPORT without IPv6, EMFILE
            last = exc
            continue
        try:
            sock.settimeout(max(0.001, min(connect, deadline - time.monotonic())))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise _failed_to_connect(last) if last is not None else _Doubt


class _Dechunker:
    """An incremental ``Transfer-Encoding: chunked`` decoder (RFC 9112 section 7.1), sans IO:
    :meth:`feed` it what arrives; :attr:`done` once the last chunk and the trailer are in. Each
    byte is looked at a bounded number of times, so a body dripped one byte per segment costs
    no more than one sent at once; anything malformed (or a size line, trailer or body over the
    caps) raises :class:`_Doubt`."""

    __slots__ = ("body", "buffer", "done", "left", "state")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.body = bytearray()
        self.state = "size"  # size -> data -> crlf -> size ... -> trailer -> done
        self.left = 0
        self.done = False

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while not self.done:
            if self.state in ("size", "trailer"):
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    if len(self.buffer) > (1024 if self.state == "size" else MAX_HEAD):
                        raise _Doubt
                    return
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                if self.state == "trailer":
                    self.done = not line  # trailer fields until an empty line
                    continue
                size_text = line.split(b";", 1)[0].strip()
                if (
                    not size_text
                    or len(size_text) > 8
                    or not all(chr(c) in _HEX for c in size_text)
                ):
                    raise _Doubt
                self.left = int(size_text, 16)
                self.state = "data" if self.left else "trailer"
            elif self.state == "data":
                take = min(self.left, len(self.buffer))
                if not take:
                    return
                self.body += self.buffer[:take]
                del self.buffer[:take]
                self.left -= take
                if len(self.body) > MAX_RESPONSE_BODY:
                    raise _Doubt  # the full client reports the cap
                if not self.left:
                    self.state = "crlf"
            else:  # "crlf" after a chunk's data
                if len(self.buffer) < 2:
                    return
                if self.buffer[:2] != b"\r\n":
                    raise _Doubt
                del self.buffer[:2]
                self.state = "size"


def _head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or status_line[0] not in ("HTTP/1.1", "HTTP/1.0"):
        raise _Doubt
    code = status_line[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise _Doubt
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.lower()
        # RFC 9110 5.1/5.5: a token for the name, no control character in the value (as h11,
        # the full client's parser, insists).
        if not colon or not name or not all(ch in _TOKEN for ch in name):
            raise _Doubt
        if any((ch < " " and ch != "\t") or ch == "\x7f" for ch in value):
            raise _Doubt
        if name in headers and name in ("content-length", "transfer-encoding", "content-encoding"):
            raise _Doubt  # framing said twice
        headers[name] = value.strip(" \t")
    return int(code), headers


def _exchange(sock: _socket.socket, request: bytes, deadline: float, read: float) -> bytes:
    """Send ``request``, read one response: its body when the status is 200."""
    import time

    def budget() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _HandOn(f"{TIMED_OUT_WAITING}: the whole request took longer than its deadline")
        return min(read, left)

    try:
        sock.settimeout(budget())
        sock.sendall(request)
        data = bytearray()
        head_end = -1
        while head_end < 0:
            sock.settimeout(budget())
            chunk = sock.recv(65536)
            if not chunk:
                raise _Doubt
            # Only the new bytes (and the three before them) can complete the blank line.
            data += chunk
            head_end = data.find(b"\r\n\r\n", max(0, len(data) - len(chunk) - 3))
            if head_end < 0 and len(data) > MAX_HEAD:
                raise _Doubt
        status, headers = _head(bytes(data[:head_end]))
        if status != 200:
            raise _Doubt  # the full client says what the status means
        rest = bytes(data[head_end + 4 :])
        encoding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        if encoding is not None and (encoding.lower() != "chunked" or length_text is not None):
            raise _Doubt
        if headers.get("content-encoding", "identity").lower() != "identity":
            raise _Doubt  # asked for identity; a compressed body is the full client's
        length = None
        if length_text is not None:
            if not length_text.isdigit() or not length_text.isascii():
                raise _Doubt
            length = int(length_text)
            if length > MAX_RESPONSE_BODY:
                raise _Doubt
        dechunker = _Dechunker() if encoding is not None else None
        body = bytearray()
        while True:
            if dechunker is not None:
                dechunker.feed(rest)
                if dechunker.done:
                    return bytes(dechunker.body)
            else:
                body += rest
                if length is not None and len(body) >= length:
                    return bytes(body[:length])
                if len(body) > MAX_RESPONSE_BODY:
                    raise _Doubt  # the full client reports the cap
            sock.settimeout(budget())
            rest = sock.recv(65536)
            if not rest:
                if length is None and dechunker is None:
                    return bytes(body)  # the body ends with the connection
                raise _Doubt
    except TimeoutError as exc:
        raise _HandOn(f"{TIMED_OUT_WAITING}: {exc}") from None
    except OSError:
        raise _Doubt from None


def fetch_discovery(
    issuer: str,
    *,
    connect: float | None = None,
    read: float | None = None,
    total: float | None = None,
) -> Discovered | None:
    """Ask for ``issuer``'s discovery document once, with light modules only (see the module
    documentation for what it answers). None: not answered here (the full client asks). The
    budgets default to the full client's (:mod:`loginkit.core._budgets`).

    The caller's likely mistake is to print a failure of its own for None: None says nothing
    about the provider, only that the full client must ask."""
    import time

    url = split_url(discovery_url(issuer))
    if url is None or not _environment_allows():
        return None
    if url.scheme == "http" and not _is_loopback(url.hostname):
        return None
    connect = DEFAULT_CONNECT if connect is None else connect
    read = DEFAULT_READ if read is None else read
    deadline = time.monotonic() + (DEFAULT_TOTAL if total is None else total)
    default_port = 443 if url.scheme == "https" else 80
    authority = url.host if url.port == default_port else f"{url.host}:{url.port}"
    request = (
        f"GET {url.path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\n"
        "Accept-Encoding: identity\r\nUser-Agent: loginkit\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    try:
        sock = _connect(url, deadline, connect)
        try:
            if url.scheme == "https":
                sock = _tls(sock, url.hostname, deadline, connect)
            body = _exchange(sock, request, deadline, read)
        finally:
            sock.close()
    except _HandOn as exc:
        return Discovered(issuer, None, exc.words)
    except (_Doubt, OSError, ValueError):
        return None  # (OSError, ValueError: a backstop; the steps above raise neither)
    document = loads(body.decode("utf-8", "replace"))
    if (
        not isinstance(document, dict)
        or not issuer_matches(document.get("issuer"), issuer)
        or missing_endpoints(document, BROWSER_ENDPOINTS)
    ):
        return None
    return Discovered(issuer, document)


def _tls(sock: _socket.socket, hostname: str, deadline: float, connect: float) -> _socket.socket:
    """``sock`` wrapped in TLS, verified (chain and host name), the handshake within the connect
    budget.

    The roots are OpenSSL's hashed certificate directory (``SSL_CERT_DIR``, else the system's),
    looked up only for the certificates the server's chain names: loading the whole system
    bundle, as ``ssl.create_default_context`` does, costs about 20 ms before the link. That
    directory is part of what the full client trusts, so this never trusts more than it does; a
    system without one, or a server whose root is only in the bundle, is asked again by the
    full client."""
    import socket
    import ssl
    import time

    capath = ssl.get_default_verify_paths().capath
    if not capath:  # no hashed directory here: the full client, with the whole bundle
        sock.close()
        raise _Doubt
    # The default context's protocol floor and verify flags (3.13 adds X509_STRICT), with only
    # the hashed directory as roots.
    context = ssl.create_default_context(capath=capath)
    plain = socket.socket(fileno=sock.detach())
    try:
        plain.settimeout(max(0.001, min(connect, deadline - time.monotonic())))
        return context.wrap_socket(plain, server_hostname=hostname)
    except TimeoutError as exc:
        plain.close()
        raise _HandOn(f"{TIMED_OUT_CONNECTING}: {exc}") from None
    except (OSError, ssl.SSLError, ValueError):
        plain.close()
        raise _Doubt from None
