"""id_token verification (spec 16.18): each check on its own, with real RS256/ES256 signatures."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey

from loginkit.core._exceptions import IdTokenRejected
from loginkit.oauth._idverify import LEEWAY, verify_id_token

from .fake_issuer import KID, OPENAI_CLIENT_ID, b64url, make_jwt, public_jwks

ISSUER = "https://auth.example.test"
NOW = 1_900_000_000


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [OPENAI_CLIENT_ID],
        "sub": "alice",
        "iat": NOW - 5,
        "exp": NOW + 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def verify(token: str, jwks: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "jwks": public_jwks() if jwks is None else jwks,
        "issuer": ISSUER,
        "client_id": OPENAI_CLIENT_ID,
        "now": NOW,
    }
    args.update(kw)
    return verify_id_token(token, **args)


def rejected(token: str, jwks: dict[str, Any] | None = None, **kw: Any) -> str:
    with pytest.raises(IdTokenRejected) as info:
        verify(token, jwks, **kw)
    assert str(info.value) == f"id_token verification failed: {info.value.reason}"
    assert token not in str(info.value)
    return info.value.reason


def test_a_good_token_passes_and_returns_its_claims() -> None:
    assert verify(make_jwt(claims()))["sub"] == "alice"


def test_a_single_string_audience_and_a_trailing_slash_on_the_issuer_pass() -> None:
    payload = claims(aud=OPENAI_CLIENT_ID, iss=ISSUER + "/")
    assert verify(make_jwt(payload)) == payload


def test_other_asymmetric_algorithms_verify_too() -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    token = make_jwt(claims(), key=ec, header={"alg": "ES256", "kid": "ec-1"})
    assert verify(token, {"keys": [ec.as_dict(private=False), *public_jwks()["keys"]]}) == claims()


def test_clock_skew_within_the_leeway_is_tolerated() -> None:
    payload = claims(exp=NOW - LEEWAY + 10, iat=NOW + LEEWAY - 10)
    assert verify(make_jwt(payload)) == payload


def test_signature_by_another_key_is_rejected() -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": KID})
    assert rejected(make_jwt(claims(), key=stranger)) == (
        "the signature does not match the provider's signing keys"
    )


def test_a_tampered_payload_is_rejected() -> None:
    head, _, sig = make_jwt(claims()).split(".")
    forged = b64url(json.dumps(claims(sub="mallory")).encode())
    assert "signature does not match" in rejected(f"{head}.{forged}.{sig}")


def test_a_key_id_the_provider_does_not_publish_is_rejected() -> None:
    token = make_jwt(claims(), header={"alg": "RS256", "kid": "rotated-away"})
    assert rejected(token) == "signed with a key that the provider does not publish"


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_none_and_hmac_are_refused(alg: str) -> None:
    head = b64url(json.dumps({"alg": alg, "kid": KID}).encode())
    body = b64url(json.dumps(claims()).encode())
    assert rejected(f"{head}.{body}.") == f"signed with algorithm '{alg}', which is not accepted"


def test_hmac_signed_with_the_public_key_as_secret_is_refused() -> None:
    # The classic confusion attack: HS256 keyed with the RSA public key's bytes.
    secret = OctKey.import_key(json.dumps(public_jwks()["keys"][0]).encode())
    token = make_jwt(claims(), key=secret, header={"alg": "HS256", "kid": KID})
    assert "'HS256', which is not accepted" in rejected(token)


def test_wrong_issuer() -> None:
    reason = rejected(make_jwt(claims(iss="https://evil.example")))
    assert reason == f"issued by 'https://evil.example', not by '{ISSUER}'"


def test_wrong_audience() -> None:
    reason = rejected(make_jwt(claims(aud=["another-app"])))
    assert reason == f"issued for another client (aud ['another-app']), not '{OPENAI_CLIENT_ID}'"


def test_wrong_authorized_party() -> None:
    reason = rejected(make_jwt(claims(aud=[OPENAI_CLIENT_ID, "x"], azp="x")))
    assert reason == f"issued to another client (azp 'x'), not '{OPENAI_CLIENT_ID}'"


def test_expired_says_to_check_the_clock() -> None:
    reason = rejected(make_jwt(claims(exp=NOW - 4000)))
    assert reason == "expired 4000 s ago; check that this computer's clock is set correctly"


def test_issued_in_the_future_says_to_check_the_clock() -> None:
    reason = rejected(make_jwt(claims(iat=NOW + 4000, exp=NOW + 8000)))
    assert (
        reason == "issued 4000 s in the future; check that this computer's clock is set correctly"
    )


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat"])
def test_each_required_claim_must_be_present(claim: str) -> None:
    assert rejected(make_jwt(claims(**{claim: None}))) == f"no '{claim}' claim"


def test_a_non_numeric_expiry_is_invalid() -> None:
    assert rejected(make_jwt(claims(exp="tomorrow"))) == "invalid 'exp' claim"


def test_an_unreadable_or_empty_key_set() -> None:
    token = make_jwt(claims())
    assert rejected(token, {"keys": []}) == "the provider publishes no signing keys"
    assert rejected(token, {"keys": [{"kty": "RSA", "n": "??"}]}) == (
        "the provider's signing keys could not be read"
    )


def test_encryption_keys_are_not_used_for_signatures() -> None:
    key = public_jwks()["keys"][0]
    assert rejected(make_jwt(claims()), {"keys": [{**key, "use": "enc"}]}) == (
        "the provider publishes no signing keys"
    )


def test_garbage_is_not_decodable() -> None:
    assert rejected("a.b.c") in {"the token could not be decoded"}


def test_claim_values_in_messages_are_short_and_printable() -> None:
    reason = rejected(make_jwt(claims(iss="https://x.example/\x1b[31m" + "a" * 500)))
    assert "\x1b" not in reason and len(reason) < 300


def test_the_real_clock_is_used_by_default() -> None:
    now = int(time.time())
    payload = claims(iat=now, exp=now + 60)
    assert (
        verify_id_token(
            make_jwt(payload), jwks=public_jwks(), issuer=ISSUER, client_id=OPENAI_CLIENT_ID
        )
        == payload
    ), "valid only by the real clock (NOW is years away from it)"


def test_padding_free_segments_are_what_is_signed() -> None:
    token = make_jwt(claims())
    assert "=" not in token
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert verify(token) == claims(), "the unpadded segments verify"


@pytest.mark.parametrize(
    "odd_key",
    [
        {"kty": "OKP", "crv": "Foo", "x": "AAAA", "kid": "odd"},
        {"kty": "EC", "x": "AAAA", "y": "AAAA", "kid": "odd"},
        {"kty": "RSA", "n": "??", "e": "AQAB", "kid": "odd"},
    ],
    ids=["unknown-curve", "ec-without-curve", "bad-modulus"],
)
def test_a_key_this_library_cannot_read_is_skipped_not_fatal(odd_key: dict[str, Any]) -> None:
    keys = {"keys": [odd_key, *public_jwks()["keys"]]}
    assert verify(make_jwt(claims()), keys)["sub"] == "alice"
    assert rejected(make_jwt(claims()), {"keys": [odd_key]}) == (
        "the provider's signing keys could not be read"
    )
