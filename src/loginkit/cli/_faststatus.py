"""``loginkit login status``: its lines, and a fast path for the file store with builtin modules.

:func:`status_lines` words the status for people; the full CLI (``cli/_credentials.py``) and
:func:`fast_status` both print through it, so the two cannot drift. :func:`fast_status` answers
``login status [--codex-home DIR] [--store file]`` when the home and ``auth.json`` are trusted and
plain (see :mod:`loginkit.cli._fastauth`), reading ``auth.json`` as ``store/_credentials.py``
``login_status`` does, with no asyncio, HTTP client, joserfc, keyring, argparse, dataclasses or
logging. Anything else (``--json``, a keyring or auto store, a ``config.toml``, a file the full
CLI would refuse, tighten or report as broken, a token only the full code can read) returns None
and the full CLI answers, with the same texts.
"""

import os
import sys
import time

from loginkit.cli._fastauth import NO_FILE, fast_home, jwt_payload, read_auth
from loginkit.core._lightjson import DEFER
from loginkit.core._sanitize import for_terminal, sanitize

# Not ``typing``: its import costs more than this whole fast path (mypy reads the name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class StatusView(Protocol):
        """What :func:`status_lines` reads (``store/_credentials.py`` ``LoginStatus``)."""

        @property
        def mode(self) -> str | None: ...
        @property
        def store(self) -> str: ...
        @property
        def masked_api_key(self) -> str | None: ...
        @property
        def email(self) -> str | None: ...
        @property
        def account_id(self) -> str | None: ...
        @property
        def plan(self) -> str | None: ...
        @property
        def access_token_expires_at(self) -> int | None: ...
        @property
        def last_refresh(self) -> str | None: ...
        @property
        def issuer(self) -> str | None: ...
        @property
        def subject(self) -> str | None: ...
        @property
        def signed_out(self) -> bool: ...


#: ``loginkit login status`` exit codes (as ``cli/_credentials.py``'s).
STATUS_LOGGED_IN = 0
STATUS_NOT_LOGGED_IN = 1

AUTH_CLAIM = "https://api.openai.com/auth"
CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
PROFILE_CLAIM = "https://api.openai.com/profile"


def _describe_expiry(expires_at: int, now: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
    seconds = int(expires_at - now)
    if seconds <= 0:
        return f"expired {when} (refreshed on next use)"
    if seconds < 120:
        left = f"{seconds} s"
    elif seconds < 7200:
        left = f"{seconds // 60} min"
    else:
        left = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"valid until {when} (in {left})"


def status_lines(status: "StatusView", now: float) -> list[str]:
    """The lines of ``loginkit login status`` for ``status`` at time ``now``. Claims are
    sanitized (escaped, cut) here; the caller still writes each line through ``for_terminal``
    (the store description holds a path)."""
    if status.mode is None:
        return ["Not logged in", f"  Store: {status.store}"]
    if status.mode == "apikey":
        return [f"Logged in using an API key - {status.masked_api_key}", f"  Store: {status.store}"]
    if status.mode == "oidc":
        return _provider_status_lines(status, now)
    lines = ["Logged in using ChatGPT"]
    # id_token claims are the provider's text: sanitized (escaped, cut) where they enter the line.
    who = sanitize(status.email, limit=200) if status.email else "unknown account"
    details = [f"account {sanitize(status.account_id, limit=200)}" if status.account_id else None]
    details.append(f"plan {sanitize(status.plan, limit=100)}" if status.plan else None)
    extra = ", ".join(d for d in details if d)
    lines.append(f"  Account: {who}" + (f" ({extra})" if extra else ""))
    if status.signed_out:
        lines.append(
            "  Signed out: the server rejected the refresh token; run `codex login` to sign in"
            " again"
        )
    elif status.access_token_expires_at is not None:
        lines.append(f"  Access token: {_describe_expiry(status.access_token_expires_at, now)}")
    elif status.last_refresh:
        lines.append(f"  Access token: last refreshed {status.last_refresh}")
    lines.append(f"  Store: {status.store}")
    return lines


def _provider_status_lines(status: "StatusView", now: float) -> list[str]:
    """A sign-in at any provider but Codex's: its words, none of Codex's or ChatGPT's."""
    issuer = sanitize(status.issuer or "an unknown provider", limit=300)
    if status.email:
        who = sanitize(status.email, limit=200)
    elif status.subject:
        who = f"subject {sanitize(status.subject, limit=200)}"
    else:
        who = "an unknown account"
    if status.signed_out:
        lines = [
            f"Signed out: {issuer} rejected the refresh token",
            f"  Account: {who}",
            f"  Fix: sign in again (`loginkit login --issuer {issuer}`)",
        ]
    else:
        lines = [f"Signed in to {issuer}", f"  Account: {who}"]
        if status.access_token_expires_at is not None:
            expiry = _describe_expiry(status.access_token_expires_at, now)
            lines.append(f"  Access token: {expiry}")
        elif status.last_refresh:
            lines.append(f"  Access token: last refreshed {status.last_refresh}")
    lines.append(f"  Store: {status.store}")
    return lines


class _Status:
    """The fields of ``LoginStatus`` the lines use, without dataclasses."""

    def __init__(self, mode: str | None, store: str, **fields: object) -> None:
        self.mode = mode
        self.store = store
        self.masked_api_key: str | None = None
        self.email: str | None = None
        self.account_id: str | None = None
        self.plan: str | None = None
        self.access_token_expires_at: int | None = None
        self.last_refresh: str | None = None
        self.issuer: str | None = None
        self.subject: str | None = None
        self.signed_out = False
        self.__dict__.update(fields)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _status(auth: object, store: str) -> "_Status | None":
    """``login_status`` (``store/_credentials.py``) of a parsed ``auth.json``, or None where the
    full code raises or only it can read a token. Keep it in step with ``AuthDotJson.from_json``
    and ``login_status`` (a new auth.json field the status shows must be read here too)."""
    if auth is NO_FILE:
        return _Status(None, store)
    if not isinstance(auth, dict):
        return None
    key = _str(auth.get("OPENAI_API_KEY"))
    mode = _str(auth.get("auth_mode")) or ("apikey" if key is not None else "chatgpt")
    if mode == "apikey":
        if key is None:
            return None  # "API key auth is missing a key."
        # Codex's masking (store/_credentials.py mask_api_key).
        masked = "***" if len(key) <= 13 else f"{key[:8]}***{key[-5:]}"
        return _Status("apikey", store, masked_api_key=masked)
    if "loginkit" in auth:
        return None  # a generic provider's record: the full CLI words it
    tokens = auth.get("tokens")
    if not isinstance(tokens, dict):
        return None  # "Token data is not available." (or incomplete tokens)
    id_token, access = tokens.get("id_token"), tokens.get("access_token")
    if not (isinstance(id_token, str) and isinstance(access, str)):
        return None
    if not isinstance(tokens.get("refresh_token"), str):
        return None
    claims = jwt_payload(id_token)
    payload = jwt_payload(access)
    if claims is DEFER or payload is DEFER:
        return None
    info = claims if isinstance(claims, dict) else {}
    audience = info.get("aud")
    if isinstance(audience, list):
        audience = audience[0] if len(audience) == 1 else None
    issuer = info.get("iss")
    if isinstance(issuer, str) and isinstance(audience, str) and audience != CODEX_CLIENT_ID:
        return None  # another provider's record (store's record_identity): the full CLI
    auth_claims = info.get(AUTH_CLAIM)
    auth_claims = auth_claims if isinstance(auth_claims, dict) else {}
    email = _str(info.get("email"))
    profile = info.get(PROFILE_CLAIM)
    if email is None and isinstance(profile, dict):
        email = _str(profile.get("email"))
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return _Status(
        "chatgpt",
        store,
        email=email,
        account_id=_str(tokens.get("account_id")) or _str(auth_claims.get("chatgpt_account_id")),
        plan=_str(auth_claims.get("chatgpt_plan_type")),
        access_token_expires_at=exp if isinstance(exp, int) and not isinstance(exp, bool) else None,
        last_refresh=_str(auth.get("last_refresh")),
    )


def fast_status(argv: list[str]) -> int | None:
    """Print ``loginkit login status`` for the file store and return its exit code, or None
    (nothing printed) when the full CLI must answer."""
    if argv[:2] != ["login", "status"]:
        return None
    codex_home = None
    rest = argv[2:]
    while rest:
        flag = rest.pop(0)
        if flag == "--codex-home" and rest and codex_home is None and rest[0][:1] != "-":
            codex_home = rest.pop(0)
        elif flag == "--store" and rest and rest[0] == "file":
            rest.pop(0)
        else:
            return None
    home = fast_home(codex_home)
    if home is None:
        return None
    if os.path.lexists(os.path.join(home, "auth.json.refresh-failed")):
        return None  # maybe signed out for good: the full CLI knows whose token failed
    auth = read_auth(home)
    status = _status(auth, f"file {os.path.join(home, 'auth.json')}") if auth is not None else None
    if status is None:
        return None
    text = "".join(for_terminal(line) + "\n" for line in status_lines(status, time.time()))
    sys.stderr.write(text)
    sys.stderr.flush()
    return STATUS_LOGGED_IN if status.mode is not None else STATUS_NOT_LOGGED_IN
