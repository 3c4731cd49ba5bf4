"""Small wording helpers shared by the flows, and the takeover lines the link-first start prints
before the rest of loginkit loads (no imports)."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """``10 minutes``, ``1 minute``, ``0.5 seconds``: a duration in a sentence."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} seconds"


#: Shown when an older login server holds the port and is asked to stand down (the seed's words).
CLEANUP_TEXT = "Cleaning up an old login session first..."


def retry_text(attempt: int) -> str:
    """Shown for every bind attempt after the first (the seed's words)."""
    return f"Retrying the local sign-in listener... (attempt {attempt})"
