"""PKCE (RFC 7636) and state generation: loginkit.oauth._pkce."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loginkit.oauth._pkce import challenge_for, generate_pkce, generate_state

B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def test_pkce_shapes_and_s256() -> None:
    codes = generate_pkce()
    assert len(codes.code_verifier) == 86 and B64URL.match(codes.code_verifier)
    assert len(codes.code_challenge) == 43 and B64URL.match(codes.code_challenge)
    digest = hashlib.sha256(codes.code_verifier.encode()).digest()
    assert codes.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert codes.code_verifier not in repr(codes)
    assert generate_pkce().code_verifier != codes.code_verifier


def test_rfc7636_appendix_b_vector() -> None:
    assert (
        challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_state_is_43_random_chars() -> None:
    states = {generate_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(s) == 43 and B64URL.match(s) for s in states)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_the_light_percent_encoder_is_urllib_quote(value: str) -> None:
    """The link-first path encodes without urllib.parse; the bytes must be the same."""
    from urllib.parse import quote as urllib_quote

    from loginkit.oauth._pkce import quote

    try:
        expected = urllib_quote(value, safe="")
    except UnicodeEncodeError:  # lone surrogates: neither can encode them
        with pytest.raises(UnicodeEncodeError):
            quote(value)
        return
    assert quote(value) == expected


def test_the_light_base64url_and_sha256_are_the_standard_ones() -> None:
    from loginkit.oauth._pkce import _b64url

    for data in (b"", b"\xff\xfe", bytes(range(256)), b"a" * 65):
        assert _b64url(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
    assert challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
