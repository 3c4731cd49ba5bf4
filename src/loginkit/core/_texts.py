"""Texts the link-first start prints before the rest of loginkit loads (no imports)."""

from __future__ import annotations


def link_text(auth_url: str, device_login_command: str) -> str:
    """The block with the sign-in link (the seed's words)."""
    return (
        "If a browser window didn't open, use this link to sign in:\n\n"
        f"{auth_url}\n\n"
        f"On a remote or headless machine? Use `{device_login_command}` instead."
    )


def format_duration(seconds: float) -> str:
    """``10 minutes``, ``1 minute``, ``0.5 seconds``: a duration in a sentence."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} seconds"
