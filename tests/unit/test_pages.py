"""The success and error pages the loopback server serves: loginkit.core._pages."""

from __future__ import annotations

from syrupy.assertion import SnapshotAssertion

from loginkit.core._pages import error_page, html_escape, success_page
from loginkit.core._profiles import OPENAI, generic_profile

from .snapshot_ext import HtmlSnapshot


def test_html_escape() -> None:
    assert (
        html_escape("<a href=\"x\">'&'</a>")
        == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    )


def test_error_page_escapes_every_slot() -> None:
    page = error_page(
        "<script>alert(1)</script>", "<b>code</b>", "\"quoted\" & 'single' {{TITLE}}", OPENAI
    )
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;code&lt;/b&gt;" in page
    assert "&quot;quoted&quot; &amp; &#39;single&#39; {{TITLE}}" in page, (
        "values are never re-expanded"
    )
    assert "unknown_error" in error_page("m", None, None, OPENAI)


def test_pages_snapshots(snapshot: SnapshotAssertion) -> None:
    assert success_page(OPENAI) == snapshot(extension_class=HtmlSnapshot, name="success_openai")
    assert error_page(
        "Sign-in failed: some_other_reason", "some_other_reason", None, OPENAI
    ) == snapshot(extension_class=HtmlSnapshot, name="error_generic_variant")
    assert error_page(
        "Codex is not enabled for your workspace.",
        "access_denied",
        "missing_codex_entitlement",
        OPENAI,
    ) == snapshot(extension_class=HtmlSnapshot, name="error_entitlement_variant")
    generic = generic_profile("https://idp", "c")
    assert "Codex" not in success_page(generic) + error_page("m", "c", None, generic)
