"""Texts the link-first start prints before the rest of loginkit loads (no imports)."""

from __future__ import annotations


def link_text(auth_url: str, device_login_command: str) -> str:
    """The block with the sign-in link (the seed's words)."""
    return (
        "If a browser window didn't open, use this link to sign in:\n\n"
        f"{auth_url}\n\n"
        f"On a remote or headless machine? Use `{device_login_command}` instead."
    )
