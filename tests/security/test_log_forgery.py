"""The login log cannot be forged: every value is quoted and escaped logfmt-style when it is not
plain, the message is escaped, one event is one physical line whatever the input, and error texts
lose their URLs (loginkit.core._log's formatter, through the real handler and file)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loginkit.core._log import install_login_log, log_event

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z +(\w+) ([^:]*): (.*)")
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str, start: int, stop_at_quote: bool) -> tuple[str, int]:
    out: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if stop_at_quote and char == '"':
            return "".join(out), i + 1
        if char == "\\":
            kind = text[i + 1]
            if kind in _UNESCAPE:
                out.append(_UNESCAPE[kind])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}[kind]
            out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
            i += 2 + width
            continue
        out.append(char)
        i += 1
    assert not stop_at_quote, "unterminated quoted value"
    return "".join(out), i


def parse_fields(tail: str) -> dict[str, str]:
    """The inverse of the formatter's ``key=value`` tail (logfmt)."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(tail):
        eq = tail.index("=", i)
        key = tail[i:eq]
        if tail[eq + 1 : eq + 2] == '"':
            value, i = _unescape(tail, eq + 2, stop_at_quote=True)
        else:
            end = tail.find(" ", eq + 1)
            end = len(tail) if end < 0 else end
            value, i = tail[eq + 1 : end], end
        fields[key] = value
        assert i == len(tail) or tail[i] == " ", tail
        i += 1
    return fields


def _lines(path: Path) -> list[str]:
    data = path.read_bytes().decode("utf-8")
    assert data.endswith("\n")
    return data[:-1].split("\n")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=40), min_size=1, max_size=4
    ),
    message=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
def test_every_line_parses_back_to_the_values_written(
    tmp_path: Path, values: list[str], message: str
) -> None:
    log = install_login_log(tmp_path / "log")
    assert log is not None
    try:
        log.path.write_bytes(b"")
        fields = {f"f{i}": v for i, v in enumerate(values)}
        log_event(logging.getLogger("loginkit.test"), logging.WARNING, message, **fields)
        log_event(logging.getLogger("loginkit.test"), logging.INFO, "second", n=1)
    finally:
        log.close()
    lines = _lines(log.path)
    assert len(lines) == 2, "one event is one physical line"
    first = LINE.fullmatch(lines[0])
    assert first is not None, lines[0]
    assert all(c.isprintable() for c in lines[0])
    text, _ = _unescape(first.group(3), 0, stop_at_quote=False)
    assert text.startswith(message + " f0=")
    # A message may itself hold " f0=" (its "=" is not escaped): the fields are found from the end.
    assert parse_fields(_fields_tail(first.group(3), len(values))) == fields
    assert lines[1].endswith("INFO loginkit.test: second n=1")


def _fields_tail(rest: str, count: int) -> str:
    """The ``f0=... f{count-1}=...`` tail of a message line: its last `` f0=`` start that parses."""
    start = len(rest)
    while True:
        start = rest.rfind(" f0=", 0, start)
        assert start >= 0, rest
        try:
            parsed = parse_fields(rest[start + 1 :])
        except (AssertionError, ValueError, KeyError, IndexError):
            continue
        if list(parsed) == [f"f{i}" for i in range(count)]:
            return rest[start + 1 :]


def test_a_provider_cannot_write_a_success_line(tmp_path: Path) -> None:
    log = install_login_log(tmp_path / "log")
    assert log is not None
    forged = (
        "denied\r\n2026-01-01T00:00:00.000000Z  INFO loginkit.server: login outcome=success\x1b[1A"
        "\u2028outcome=success\x07\u202e"
    )
    try:
        log_event(
            logging.getLogger("loginkit.server"),
            logging.WARNING,
            "oauth callback returned error",
            error_code=forged,
            error_description=f"see https://evil.example/x?y=1 {forged}",
            has_code=True,
            port=1455,
        )
        log_event(logging.getLogger("loginkit.server"), logging.WARNING, forged)
    finally:
        log.close()
    lines = _lines(log.path)
    assert len(lines) == 2
    first = lines[0]
    assert " has_code=true port=1455" in first, "plain values keep their rendering"
    assert 'error_code="denied\\r\\n2026-01-01T00:00:00.000000Z  INFO' in first
    assert "\\x1b[1A\\u2028outcome=success\\x07\\u202e" in first
    assert "evil.example" not in first and "<url>" in first, "provider URLs are stripped"
    assert all(c.isprintable() for line in lines for c in line)
    assert lines[1].endswith(
        ": denied\\r\\n2026-01-01T00:00:00.000000Z  INFO loginkit.server: "
        "login outcome=success\\x1b[1A\\u2028outcome=success\\x07\\u202e"
    )
