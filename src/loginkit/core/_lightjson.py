"""``json.loads`` without importing ``json``, for the paths that run before anything heavy loads.

``json`` imports ``json.decoder`` and ``re`` (several milliseconds, a third of a bare
interpreter's start); ``_json``'s C scanner is what ``json.loads`` itself runs, so the same
scanner with :class:`json.JSONDecoder`'s defaults reads the same values. Builtin modules only.
"""

#: Returned by :func:`loads` where ``json.loads`` would raise (or the scanner is missing): the
#: caller hands the work to the full code, which reports it in its own words.
DEFER = object()

_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_JSON_SPACE = " \t\n\r"


class _JsonContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def loads(text: str) -> object:
    """``json.loads(text)`` for a ``str``, or :data:`DEFER` where ``json.loads`` would raise.

    The same C scanner and defaults as :class:`json.JSONDecoder`, without importing ``json``.
    The caller's likely mistake is to treat :data:`DEFER` as "no value": it means "ask the full
    code", which may well read the text (on another Python) or word the error.
    """
    try:
        from _json import make_scanner
    except ImportError:  # not CPython: the full code decides
        return DEFER
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    try:
        # typeshed types the context as a JSONDecoder; the scanner reads only these attributes.
        value, end = make_scanner(_JsonContext())(text, start)  # type: ignore[arg-type]
    except Exception:
        # Any error defers. CPython 3.11's scanner raises JSONDecodeError only when json.decoder
        # is already loaded, else a SystemError ("returned NULL without setting an exception").
        return DEFER
    if text[end:].strip(_JSON_SPACE):
        return DEFER
    return value
