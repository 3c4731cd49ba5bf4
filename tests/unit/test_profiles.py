"""Which provider profile an issuer and client id select: loginkit.core._profiles."""

from __future__ import annotations

from loginkit.core._profiles import OPENAI, profile_for


def test_profile_selection() -> None:
    assert profile_for(None, None) is OPENAI
    assert profile_for("http://127.0.0.1:1", None).app_name == "Codex"
    assert profile_for("http://127.0.0.1:1", None).issuer == "http://127.0.0.1:1"
    assert profile_for("https://idp", "other").name == "generic"
