"""Small wording helpers shared by the flows (no imports)."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """``10 minutes``, ``1 minute``, ``0.5 seconds``: a duration in a sentence."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} seconds"
