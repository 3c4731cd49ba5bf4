"""The one sanitizer of outside text before it reaches a terminal (provider errors, claims, URLs).

A provider, a callback or a stored file can hold any code point. Printed raw, ESC starts terminal
escape sequences (OSC 8 hyperlinks, OSC 52 clipboard writes, cursor moves), ``\\r`` overwrites a
line, and the Unicode bidi/format characters (U+202E and friends) reorder what a person reads.
:func:`sanitize` shows every such character visibly escaped (``\\x1b``, ``\\u202e``) and cuts long
values with a count of what was cut; :func:`for_terminal` is the last guard the CLI applies to
every line it writes for people (it keeps our own newlines). Both are idempotent on their output:
an escape is plain printable ASCII, so sanitizing twice changes nothing.
"""

from __future__ import annotations

import unicodedata

#: What a sanitized string never holds: controls (C0, DEL, C1), format characters (bidi marks and
#: isolates, zero-width characters, tags), lone surrogates, and the line/paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Default cut for one outside value inside a message.
DEFAULT_LIMIT = 500

#: Characters of an RFC 6750 ``b64token`` (what a bearer token may hold), ``=`` only at the end.
_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")


def is_unsafe(char: str) -> bool:
    """True for a character that must never reach a terminal as it is."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def escape_char(char: str) -> str:
    """``char`` as a Python-style escape: ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``."""
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def sanitize(
    text: object, *, limit: int | None = DEFAULT_LIMIT, keep_newlines: bool = False
) -> str:
    """``str(text)`` with every unsafe character escaped, cut to about ``limit`` characters (of
    the input) with ``... [N more characters]`` appended.

    Use it where outside text enters a message (``keep_newlines`` False: a provider must not start
    a line of its own). A cut does not end inside a word: the word it would go through is left
    out whole, so a secret a server echoed is never half shown (a scrub looks for whole secrets);
    only a value that is one word longer than ``limit`` is cut where it is. A
    caller's likely mistake is sanitizing after adding its own colour codes: those are ESC
    sequences too and get escaped; colour goes on after.
    """
    value = str(text)
    cut = 0
    if limit is not None and len(value) > limit:
        kept = value[:limit]
        if not value[limit].isspace():
            words = kept.split()
            whole = kept[: len(kept) - len(words[-1])].rstrip() if words else ""
            kept = whole or kept  # one word longer than the limit: cut it where it is
        kept = kept.rstrip()
        cut = len(value) - len(kept)
        value = kept
    escaped = "".join(
        escape_char(c) if is_unsafe(c) and not (keep_newlines and c == "\n") else c for c in value
    )
    if cut:
        escaped += f"... [{cut} more characters]"
    return escaped


def for_terminal(text: str) -> str:
    """The last guard before a line for people is written: every unsafe character but ``\\n``
    escaped, nothing cut (the values inside were cut where they entered the message)."""
    return sanitize(text, limit=None, keep_newlines=True)


def sanitize_link(url: str, *, limit: int = 4096) -> str:
    """A URL to print as the link a person opens: every character outside printable ASCII
    without the space (controls, spaces, bidi marks, non-ASCII look-alikes) shown escaped.

    A URL built by us is already plain ASCII and comes back unchanged. One from outside (a
    discovered endpoint, a device verification URL) that holds such characters is therefore never
    printed as the link it claims to be: what is on screen is one visible token with the escapes
    in it, no space that could make half of it look like another link, no overwrite.
    """
    value = url[:limit]
    shown = "".join(c if "!" <= c <= "~" else escape_char(c) for c in value)
    if len(url) > limit:
        shown += f"... [{len(url) - limit} more characters]"
    return shown


def bearer_token_problem(token: str) -> str | None:
    """Why ``token`` cannot be a bearer token (RFC 6750 ``b64token``: ``[A-Za-z0-9-._~+/]+=*``),
    or None when it can. The answer never quotes the token (it is a secret)."""
    body = token.rstrip("=")
    if not body:
        return "it is empty"
    for index, char in enumerate(body):
        if char not in _B64TOKEN:
            return f"it holds {escape_char(char)} at position {index + 1}, not allowed in a bearer token"
    return None
