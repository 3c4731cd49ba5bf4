"""The authorize URL (RFC 6749 4.1.1 with PKCE, RFC 7636), built with ``urllib.parse`` only."""

from __future__ import annotations

from urllib.parse import quote

# Not ``typing.TYPE_CHECKING``: this module is on the link-first path, where typing is not loaded.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from loginkit.core._profiles import Profile
    from loginkit.oauth._pkce import PkceCodes


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    extra_params: tuple[tuple[str, str], ...],
    state: str,
    originator: str | None,
    workspace_id: str | None,
) -> str:
    """The authorize URL, parameters in Codex's order, values RFC 3986 percent-encoded."""
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
        *extra_params,
        ("state", state),
    ]
    if originator is not None:
        params.append(("originator", originator))
    if workspace_id is not None:
        params.append(("allowed_workspace_id", workspace_id))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{endpoint}?{query}"


def build_authorize_url(
    profile: Profile,
    *,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    pkce: PkceCodes,
    state: str,
    workspace_id: str | None,
) -> str:
    """The authorize URL, parameters in Codex's order, values RFC 3986 percent-encoded."""
    return authorize_url(
        profile.authorize_endpoint(issuer),
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=profile.scope,
        code_challenge=pkce.code_challenge,
        extra_params=profile.extra_authorize_params,
        state=state,
        originator=profile.originator,
        workspace_id=workspace_id,
    )
