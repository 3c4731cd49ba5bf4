"""The discovery document (OpenID Connect Discovery 1.0 section 4, RFC 8414 section 3): where it
is, what makes it usable, and one GET of it with light modules only for the link-first start.

A generic sign-in must read ``{issuer}/.well-known/openid-configuration`` before its link can be
printed (the link is the document's ``authorization_endpoint``). The full client
(:mod:`loginkit.oauth._http`) costs a tenth of a second of imports before that request leaves, so
the link-first start asks with :func:`fetch_discovery` through :mod:`loginkit.oauth._lighthttp`
(``_socket``, plus ``ssl`` for ``https``, verified against OpenSSL's hashed certificate directory,
a part of what the full client trusts) and reads it with the C JSON scanner. It answers only the
plain case, with the full client's rules, never looser:

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

import os

from loginkit.core._budgets import DEFAULT_CONNECT, DEFAULT_READ, DEFAULT_TOTAL
from loginkit.core._lightjson import loads

WELL_KNOWN = "/.well-known/openid-configuration"
#: The endpoint every use of the document needs (RFC 8414 section 2: REQUIRED unless only the
#: implicit grant is offered, which loginkit never uses).
TOKEN_ENDPOINT = ("token_endpoint",)
#: What a browser sign-in needs besides (RFC 8414 section 2: a device-only provider may omit the
#: authorization endpoint, so only the browser flow asks for it).
BROWSER_ENDPOINTS = ("authorization_endpoint", "token_endpoint")


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
    from loginkit.oauth import _lighthttp as http

    url = http.split_url(discovery_url(issuer))
    if url is None or not _environment_allows():
        return None
    if url.scheme == "http" and not http.is_loopback(url.hostname):
        return None
    try:
        body = http.get(
            url,
            connect=DEFAULT_CONNECT if connect is None else connect,
            read=DEFAULT_READ if read is None else read,
            total=DEFAULT_TOTAL if total is None else total,
        )
    except http.HandOn as exc:
        return Discovered(issuer, None, exc.words)
    except (http.Doubt, OSError, ValueError):
        return None  # (OSError, ValueError: a backstop; get raises neither)
    document = loads(body.decode("utf-8", "replace"))
    if (
        not isinstance(document, dict)
        or not issuer_matches(document.get("issuer"), issuer)
        or missing_endpoints(document, BROWSER_ENDPOINTS)
    ):
        return None
    return Discovered(issuer, document)
