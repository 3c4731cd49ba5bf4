"""id_token verification at sign-in: signature against the provider's keys, then iss, aud, exp, iat.

The seed reads the id_token's claims without any check (spec 16.18). OpenID Connect Core 3.1.3.7
asks a client to check the issuer, the audience and the expiry of every id_token, and allows the
signature to be skipped only because the token came straight from the token endpoint over TLS;
loginkit checks the signature as well, against the JSON Web Key Set the provider publishes, so a
token endpoint reached through a misconfigured proxy or a mixed-up issuer cannot plant claims
(account, workspace, plan) that the workspace restriction and ``status`` then trust.

joserfc (and with it ``cryptography``) is imported here only, after the sign-in link is out.
Messages name the check that failed and never contain the token.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from loginkit.core._exceptions import IdTokenRejected

#: Asymmetric algorithms only: ``none`` and the HMAC family (whose "key" would be public) are
#: refused whatever the token's header says.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
#: Clock skew tolerated on ``exp`` and ``iat``, in seconds.
LEEWAY = 300
_CLOCK_HINT = "check that this computer's clock is set correctly"


def _show(value: object) -> str:
    """A claim value fit for a message: short, printable, quoted."""
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 120 else text[:117] + "..."


def _same_issuer(claimed: str, expected: str) -> bool:
    # Exact, except for one trailing slash: issuers are URLs and some providers are inconsistent
    # about the slash between their discovery document and their tokens.
    return claimed.rstrip("/") == expected.rstrip("/")


def verify_id_token(
    id_token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    now: float | None = None,
    leeway: int = LEEWAY,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Verify ``id_token`` and return its claims; raise :class:`IdTokenRejected` otherwise.

    ``nonce``: the value this run sent in its authorize URL; the token must carry exactly it
    (OpenID Connect Core 3.1.3.7 step 11), compared in constant time and never shown. None
    skips the check: pass it whenever the run sent one, or a replayed id_token is accepted."""
    from joserfc import jwt
    from joserfc.errors import (
        BadSignatureError,
        ExpiredTokenError,
        InvalidClaimError,
        InvalidKeyIdError,
        JoseError,
        MissingClaimError,
        UnsupportedAlgorithmError,
    )
    from joserfc.jwk import KeySet

    from loginkit.core._exceptions import JwtFormatError
    from loginkit.oauth._idtoken import b64url_decode

    at = time.time() if now is None else now
    usable = [
        key
        for key in jwks.get("keys", [])
        if isinstance(key, dict)
        and key.get("kty") in ("RSA", "EC", "OKP")
        and key.get("use", "sig") == "sig"
    ]
    if not usable:
        raise IdTokenRejected("the provider publishes no signing keys")
    # One by one: a key this library cannot read (an unknown curve, a missing field) is skipped,
    # so it cannot make a token signed by a good key fail. joserfc raises more than JoseError
    # for malformed keys (KeyError for an unknown curve), hence the broad catch.
    readable = []
    for key in usable:
        try:
            readable.extend(KeySet.import_key_set({"keys": [key]}).keys)
        except Exception:  # noqa: S112 - any failure means: not a key we can use
            continue
    if not readable:
        raise IdTokenRejected("the provider's signing keys could not be read")
    key_set = KeySet(readable)

    try:
        token = jwt.decode(id_token, key_set, algorithms=list(ALGORITHMS))
    except UnsupportedAlgorithmError:
        try:
            alg = json.loads(b64url_decode(id_token.split(".", maxsplit=1)[0])).get("alg")
        except (JwtFormatError, ValueError, AttributeError):
            alg = None
        raise IdTokenRejected(
            f"signed with algorithm {_show(alg)}, which is not accepted"
        ) from None
    except InvalidKeyIdError:
        raise IdTokenRejected("signed with a key that the provider does not publish") from None
    except BadSignatureError:
        raise IdTokenRejected("the signature does not match the provider's signing keys") from None
    except Exception:  # JoseError, ValueError, or a library bug: never trusted
        raise IdTokenRejected("the token could not be decoded") from None

    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(at),
        leeway=leeway,
        iss={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except MissingClaimError as exc:
        raise IdTokenRejected(f"no {_show(exc.claim)} claim") from None
    except ExpiredTokenError:
        ago = int(at - claims["exp"])
        raise IdTokenRejected(f"expired {ago} s ago; {_CLOCK_HINT}") from None
    except InvalidClaimError as exc:
        if exc.claim == "aud":
            raise IdTokenRejected(
                f"issued for another client (aud {_show(claims.get('aud'))}), "
                f"not {_show(client_id)}"
            ) from None
        if exc.claim == "iat" and "future" in str(exc):
            ahead = int(claims["iat"] - at)
            raise IdTokenRejected(f"issued {ahead} s in the future; {_CLOCK_HINT}") from None
        raise IdTokenRejected(f"invalid {_show(exc.claim)} claim") from None
    except (JoseError, ValueError, TypeError):
        raise IdTokenRejected("the claims could not be checked") from None

    iss = claims["iss"]
    if not _same_issuer(iss, issuer):
        raise IdTokenRejected(f"issued by {_show(iss)}, not by {_show(issuer)}")
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise IdTokenRejected(
            f"issued to another client (azp {_show(azp)}), not {_show(client_id)}"
        )
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str):
            raise IdTokenRejected("no 'nonce' claim, although this sign-in sent one")
        if not hmac.compare_digest(
            got.encode("utf-8", "surrogatepass"), nonce.encode("utf-8", "surrogatepass")
        ):
            raise IdTokenRejected("its nonce is not the one this sign-in sent (a replayed token?)")
    return claims
