"""Redaction of URLs and secrets in logs and messages: loginkit.core._redact."""

from __future__ import annotations

import pytest

from loginkit.core._redact import sanitize_url_for_logging, scrub, strip_urls


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://user:pass@auth.openai.com/oauth/token?code=abc123&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback#frag",
            "https://auth.openai.com/oauth/token?code=%3Credacted%3E&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback",
        ),
        (
            "https://user:pass@example.com/base?token=abc123&env=prod",
            "https://example.com/base?token=%3Credacted%3E&env=prod",
        ),
        (
            "https://example.com/x?ACCESS_TOKEN=1&Api_Key=2&keep=3",
            "https://example.com/x?ACCESS_TOKEN=%3Credacted%3E&Api_Key=%3Credacted%3E&keep=3",
        ),
        ("https://example.com/path?", "https://example.com/path"),
        ("http://[::1]:8080/a?state=s", "http://[::1]:8080/a?state=%3Credacted%3E"),
        ("not a url", "<invalid-url>"),
        ("http://[bad", "<invalid-url>"),
    ],
)
def test_sanitize_url_for_logging(raw: str, expected: str) -> None:
    assert sanitize_url_for_logging(raw) == expected


def test_strip_urls_and_scrub() -> None:
    assert (
        strip_urls("failed for url (https://x.test/a?code=1) now") == "failed for url (<url>) now"
    )
    assert scrub("echo code-123456 back", ["code-123456", ""]) == "echo <redacted> back"
