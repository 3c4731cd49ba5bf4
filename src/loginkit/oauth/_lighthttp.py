"""One HTTP/1.1 GET with builtin modules only: ``_socket``, and ``ssl`` for https.

The link-first start's discovery request (:mod:`loginkit.oauth._wellknown`) is made before the
HTTP client (:mod:`loginkit.oauth._http`, httpx2: a tenth of a second of imports) loads. This is
that request's whole client, kept to what one GET of a small JSON document needs and to the
full client's rules, never looser: :func:`get` raises :class:`Doubt` for anything it does not
answer plainly (the full client then asks and words it) and :class:`HandOn` for a failure the full
client would meet the same way (a budget that ran out, a name that does not resolve, a refused
connection), in that client's words. Parsing is sans IO (:func:`head`, :class:`Dechunker`) with
explicit state; the socket loop around it is :func:`get`.
"""

from __future__ import annotations

import _socket

from loginkit.core._budgets import MAX_RESPONSE_BODY

#: Largest response head (status line and headers) read.
MAX_HEAD = 64 * 1024
#: The words of a budget that ran out, as the full client's classification says them.
TIMED_OUT_CONNECTING = "timed out connecting"
TIMED_OUT_WAITING = "timed out waiting for a response"

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_PATH_CHARS = _HOST_CHARS | frozenset("_~/%!$&'()*+,;=:")
_HEX = frozenset("0123456789abcdefABCDEF")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


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


def is_loopback(hostname: str) -> bool:
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
    return address == "::1" or (address.startswith("127.") and is_loopback(address))


class HandOn(Exception):
    """A failure the full client would meet the same way (a budget ran out, a connection or
    name lookup failed), in its words: handed on so the person does not wait twice."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


class Doubt(Exception):
    """Anything the light GET does not answer: the full client asks and words it."""


def _failed_to_connect(exc: OSError) -> HandOn:
    """The full client's words for a connection that could not be made."""
    if isinstance(exc, TimeoutError):
        return HandOn(f"{TIMED_OUT_CONNECTING}: {exc}")
    return HandOn(f"connection failed: {exc}")


def connect_to(url: SplitUrl, deadline: float, connect: float) -> _socket.socket:
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
        raise Doubt  # plain http goes to loopback only: the full client decides the rest
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
    raise _failed_to_connect(last) if last is not None else Doubt


class Dechunker:
    """An incremental ``Transfer-Encoding: chunked`` decoder (RFC 9112 section 7.1), sans IO:
    :meth:`feed` it what arrives; :attr:`done` once the last chunk and the trailer are in. Each
    byte is looked at a bounded number of times, so a body dripped one byte per segment costs
    no more than one sent at once; anything malformed (or a size line, trailer or body over the
    caps) raises :class:`Doubt`."""

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
                        raise Doubt
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
                    raise Doubt
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
                    raise Doubt  # the full client reports the cap
                if not self.left:
                    self.state = "crlf"
            else:  # "crlf" after a chunk's data
                if len(self.buffer) < 2:
                    return
                if self.buffer[:2] != b"\r\n":
                    raise Doubt
                del self.buffer[:2]
                self.state = "size"


def head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or status_line[0] not in ("HTTP/1.1", "HTTP/1.0"):
        raise Doubt
    code = status_line[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise Doubt
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.lower()
        # RFC 9110 5.1/5.5: a token for the name, no control character in the value (as h11,
        # the full client's parser, insists).
        if not colon or not name or not all(ch in _TOKEN for ch in name):
            raise Doubt
        if any((ch < " " and ch != "\t") or ch == "\x7f" for ch in value):
            raise Doubt
        if name in headers and name in ("content-length", "transfer-encoding", "content-encoding"):
            raise Doubt  # framing said twice
        headers[name] = value.strip(" \t")
    return int(code), headers


def exchange(sock: _socket.socket, request: bytes, deadline: float, read: float) -> bytes:
    """Send ``request``, read one response: its body when the status is 200."""
    import time

    def budget() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HandOn(f"{TIMED_OUT_WAITING}: the whole request took longer than its deadline")
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
                raise Doubt
            # Only the new bytes (and the three before them) can complete the blank line.
            data += chunk
            head_end = data.find(b"\r\n\r\n", max(0, len(data) - len(chunk) - 3))
            if head_end < 0 and len(data) > MAX_HEAD:
                raise Doubt
        status, headers = head(bytes(data[:head_end]))
        if status != 200:
            raise Doubt  # the full client says what the status means
        rest = bytes(data[head_end + 4 :])
        encoding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        if encoding is not None and (encoding.lower() != "chunked" or length_text is not None):
            raise Doubt
        if headers.get("content-encoding", "identity").lower() != "identity":
            raise Doubt  # asked for identity; a compressed body is the full client's
        length = None
        if length_text is not None:
            if not length_text.isdigit() or not length_text.isascii():
                raise Doubt
            length = int(length_text)
            if length > MAX_RESPONSE_BODY:
                raise Doubt
        dechunker = Dechunker() if encoding is not None else None
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
                    raise Doubt  # the full client reports the cap
            sock.settimeout(budget())
            rest = sock.recv(65536)
            if not rest:
                if length is None and dechunker is None:
                    return bytes(body)  # the body ends with the connection
                raise Doubt
    except TimeoutError as exc:
        raise HandOn(f"{TIMED_OUT_WAITING}: {exc}") from None
    except OSError:
        raise Doubt from None


def start_tls(
    sock: _socket.socket, hostname: str, deadline: float, connect: float
) -> _socket.socket:
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
        raise Doubt
    # The default context's protocol floor and verify flags (3.13 adds X509_STRICT), with only
    # the hashed directory as roots.
    context = ssl.create_default_context(capath=capath)
    plain = socket.socket(fileno=sock.detach())
    try:
        plain.settimeout(max(0.001, min(connect, deadline - time.monotonic())))
        return context.wrap_socket(plain, server_hostname=hostname)
    except TimeoutError as exc:
        plain.close()
        raise HandOn(f"{TIMED_OUT_CONNECTING}: {exc}") from None
    except (OSError, ssl.SSLError, ValueError):
        plain.close()
        raise Doubt from None


def get(url: SplitUrl, *, connect: float, read: float, total: float) -> bytes:
    """The body of ``GET url`` answered 200, read within the budgets (``connect`` for each
    address and the TLS handshake, ``read`` for each read, ``total`` for all of it). Raises
    :class:`HandOn` or :class:`Doubt`; a caller's likely mistake is to catch only one."""
    import time

    deadline = time.monotonic() + total
    default_port = 443 if url.scheme == "https" else 80
    authority = url.host if url.port == default_port else f"{url.host}:{url.port}"
    request = (
        f"GET {url.path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\n"
        "Accept-Encoding: identity\r\nUser-Agent: loginkit\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    sock = connect_to(url, deadline, connect)
    try:
        if url.scheme == "https":
            sock = start_tls(sock, url.hostname, deadline, connect)
        return exchange(sock, request, deadline, read)
    finally:
        sock.close()
