"""One run's connection to the identity provider: one HTTP client, discovery at most once.

Every request of a sign-in (exchange, signing keys, API key, device code, polling) and of a
refresh goes through the :class:`Provider` the run made, so proxies, the CA bundle and the
timeouts are applied once, connections are reused, and the discovery document is fetched at
most once. Nothing is built until the first request: making a ``Provider`` costs nothing before
the sign-in link is out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loginkit.core._exceptions import DiscoveryError, HttpClientSetupError, HttpClientSetupFailure
from loginkit.core._limits import Timeouts
from loginkit.core._profiles import OPENAI_ISSUER, Profile
from loginkit.core._redact import sanitize_url_for_logging

if TYPE_CHECKING:
    import httpx2

    from loginkit.oauth._token import ExchangedTokens
    from loginkit.oauth._wellknown import Discovered

_UNFETCHED: dict[str, object] = {}


class Provider:
    """The provider of one run. Close it when the run ends (or use ``with``).

    ``profile`` is the configured profile; :attr:`profile` becomes the discovered one after
    :meth:`discover`. A caller that builds a second ``Provider`` for the same run pays for a
    second client and a second discovery: pass this one down instead.
    """

    def __init__(
        self,
        profile: Profile,
        issuer: str,
        timeouts: Timeouts | None = None,
        *,
        client: httpx2.Client | None = None,
    ) -> None:
        self.profile = profile
        self.issuer = issuer
        self.timeouts = timeouts if timeouts is not None else Timeouts()
        self._client = client
        self._owns_client = client is None
        self._metadata: dict[str, object] | DiscoveryError = _UNFETCHED

    @property
    def base(self) -> str:
        """The issuer without a trailing slash, for paths the profile builds on it."""
        return self.issuer.rstrip("/")

    def client(self, endpoint: str = "") -> httpx2.Client:
        """The run's HTTP client, built on first use. A CA bundle or proxy setting that cannot
        be used raises :class:`HttpClientSetupError` naming ``endpoint`` (a sanitised URL)."""
        if self._client is None:
            from loginkit.oauth._http import build_client

            try:
                self._client = build_client(self.timeouts)
            except HttpClientSetupFailure as exc:
                raise HttpClientSetupError(endpoint=endpoint, message=str(exc)) from exc
        return self._client

    def discovery_document(self) -> dict[str, object]:
        """The checked discovery document, fetched on first call only. Raises
        :class:`DiscoveryError` (every time, without asking again) when there is none."""
        if self._metadata is _UNFETCHED:
            from loginkit.oauth._discovery import discovery_url, load_metadata

            url = sanitize_url_for_logging(discovery_url(self.issuer))
            try:
                self._metadata = load_metadata(self.client(url), self.issuer)
            except HttpClientSetupError as exc:
                self._metadata = DiscoveryError(f"could not read {url}: {exc.detail}")
            except DiscoveryError as exc:
                self._metadata = exc
        if isinstance(self._metadata, DiscoveryError):
            raise self._metadata
        return self._metadata

    def seed(self, discovered: Discovered) -> None:
        """Take the discovery answer the link-first start already had (a checked document, or a
        budget that ran out) instead of asking again. Call it before the first request; an
        answer about another issuer is a ``ValueError`` (the caller's likely mistake: a
        ``Discovered`` kept from an earlier run)."""
        if discovered.issuer != self.issuer or self._metadata is not _UNFETCHED:
            raise ValueError("this discovery answer is not this provider's, or came too late")
        if discovered.document is not None:
            self._metadata = discovered.document
        else:
            from loginkit.oauth._discovery import discovery_url

            url = sanitize_url_for_logging(discovery_url(self.issuer))
            self._metadata = DiscoveryError(f"could not read {url}: {discovered.failure}")

    def metadata(self) -> dict[str, object] | None:
        """:meth:`discovery_document`, or None when there is none (for lookups that have a
        fixed fallback, such as auth.openai.com's keys)."""
        try:
            return self.discovery_document()
        except DiscoveryError:
            return None

    def discover(self, *, authorize: bool = False) -> Profile:
        """Fill a discovering profile's endpoints from the discovery document (once). Raises
        :class:`DiscoveryError` for a generic provider without a usable document: one without a
        token endpoint, or with ``authorize`` (a browser sign-in) without an authorization
        endpoint. No endpoint is ever guessed for it."""
        profile = self.profile
        if not profile.discover:
            return profile
        wanted = profile.token_endpoint_url is None or (
            authorize and profile.authorization_endpoint_url is None
        )
        if wanted:
            from loginkit.oauth._discovery import (
                discovery_url,
                missing_endpoint_error,
                with_metadata,
            )
            from loginkit.oauth._wellknown import BROWSER_ENDPOINTS, TOKEN_ENDPOINT

            document = self.discovery_document()
            shown = sanitize_url_for_logging(discovery_url(self.issuer))
            missing_endpoint_error(
                document, shown, BROWSER_ENDPOINTS if authorize else TOKEN_ENDPOINT
            )
            if profile.token_endpoint_url is None:
                self.profile = with_metadata(profile, self.issuer, document)
        return self.profile

    def token_endpoint(self) -> str:
        return self.profile.token_endpoint(self.issuer)

    def expected_issuer(self) -> str:
        """The ``iss`` this provider's id_tokens must carry."""
        return self.profile.expected_issuer(self.issuer)

    def jwks_endpoint(self) -> str:
        """Where the id_token's signing keys are: the configured or discovered ``jwks_uri``; for
        auth.openai.com its fixed path (no extra round trip); for any other issuer, its discovery
        document's ``jwks_uri`` when it has one (oidc-provider, Keycloak and Auth0 each publish
        keys at a different path), else ``{issuer}/.well-known/jwks.json``."""
        if self.profile.jwks_uri_url or self.base == OPENAI_ISSUER:
            return self.profile.jwks_endpoint(self.issuer)
        metadata = self.metadata()
        found = metadata.get("jwks_uri") if metadata is not None else None
        return (
            found if isinstance(found, str) and found else self.profile.jwks_endpoint(self.issuer)
        )

    def exchange_code(
        self, *, client_id: str, code: str, code_verifier: str, redirect_uri: str
    ) -> ExchangedTokens:
        """The authorization-code grant (RFC 6749 4.1.3 with the PKCE verifier)."""
        from loginkit.oauth._token import exchange_code_for_tokens

        url = self.token_endpoint()
        return exchange_code_for_tokens(
            self.client(sanitize_url_for_logging(url)),
            token_url=url,
            issuer=self.issuer,
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            code=code,
        )

    def signing_keys(self) -> dict[str, object]:
        """The provider's JSON Web Key Set."""
        from loginkit.oauth._token import fetch_jwks

        url = self.jwks_endpoint()
        return fetch_jwks(self.client(sanitize_url_for_logging(url)), jwks_url=url)

    def api_key(self, *, client_id: str, id_token: str) -> str:
        """Codex's id_token -> API key exchange."""
        from loginkit.oauth._token import obtain_api_key

        url = self.token_endpoint()
        return obtain_api_key(
            self.client(sanitize_url_for_logging(url)),
            token_url=url,
            client_id=client_id,
            id_token=id_token,
        )

    def revocation_endpoint(self) -> str | None:
        """The RFC 7009 ``revocation_endpoint`` the discovery document announces, or None (no
        document, none announced, or auth.openai.com, which announces none and is never asked:
        its logout stays Codex's). A document that cannot be had raises :class:`DiscoveryError`:
        a caller must not take it for "nothing to revoke"."""
        if self.base == OPENAI_ISSUER:
            return None
        found = self.discovery_document().get("revocation_endpoint")
        return found if isinstance(found, str) and found else None

    def revoke(self, token: str, hint: str, *, client_id: str) -> str:
        """Revoke ``token`` (``hint``: ``refresh_token`` or ``access_token``) at the announced
        revocation endpoint: ``"revoked"``, ``"unsupported"`` (the provider does not revoke
        this token type) or ``"no endpoint"`` (none announced; nothing was sent). Raises
        :class:`DiscoveryError` or a :class:`TokenExchangeError` when the revocation failed."""
        from loginkit.oauth._token import revoke_token

        url = self.revocation_endpoint()
        if url is None:
            return "no endpoint"
        revoked = revoke_token(
            self.client(sanitize_url_for_logging(url)),
            revocation_url=url,
            client_id=client_id,
            token=token,
            hint=hint,
        )
        return "revoked" if revoked else "unsupported"

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
        self._client = None

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prewarm() -> None:
    """Load the HTTP stack, the JOSE stack and the TLS roots while the person is still in the
    browser, so the callback is answered without waiting for imports."""
    import joserfc.jwk
    import joserfc.jwt  # noqa: F401

    import loginkit.oauth._idverify
    import loginkit.oauth._token  # noqa: F401
    from loginkit.core._exceptions import HttpClientSetupFailure
    from loginkit.oauth._http import build_ssl_context

    try:
        build_ssl_context()
    except HttpClientSetupFailure:
        pass  # reported, classified, when the exchange builds its client
