"""The login log (codex-login.log): loginkit.core._log."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest

from loginkit.core._log import LoginLogFormatter, install_login_log, log_event


def test_login_log_format_and_permissions(tmp_path: Path) -> None:
    log = install_login_log(tmp_path / "log")
    assert log is not None
    try:
        log_event(
            logging.getLogger("loginkit.server"),
            logging.WARNING,
            "hello world",
            a=True,
            b="x y",
            c=None,
        )
    finally:
        log.close()
    line = log.path.read_text().strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  WARN loginkit\.server: hello world a=true b=\"x y\" c=null",
        line,
    ), line
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert not logging.getLogger().handlers or all(
        not getattr(h, "baseFilename", "").endswith("codex-login.log")
        for h in logging.getLogger().handlers
    ), "the root logger is never configured"


def test_login_log_setup_failure_only_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert install_login_log(blocker / "log") is None
    assert "Warning: failed to create login log directory" in capsys.readouterr().err


def test_log_formatter_without_fields() -> None:
    record = logging.LogRecord("loginkit.x", logging.INFO, __file__, 1, "plain", None, None)
    assert LoginLogFormatter().format(record).endswith("  INFO loginkit.x: plain")
