"""A ``$BROWSER`` command for tests: returns at once and signs in with headless Chromium behind.

``webbrowser.open`` waits for a ``$BROWSER`` command to exit, so this script forks a detached
Python process that runs :func:`support.browser.complete_login` on the URL and exits immediately.
The child writes what the browser ended on to ``$LOGINKIT_TEST_BROWSER_LOG`` (JSON lines).

Usage in a test: ``BROWSER="python -m support.fake_browser %s"`` with ``PYTHONPATH`` containing tests/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def drive(url: str) -> None:
    from support.browser import complete_login, launch_browser

    with launch_browser() as browser:
        result = complete_login(browser, url, login=os.environ.get("LOGINKIT_TEST_LOGIN", "alice"))
    record = {"final_url": result.final_url, "status": result.status, "text": result.text}
    with open(os.environ["LOGINKIT_TEST_BROWSER_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--drive":
        drive(sys.argv[2])
        return 0
    url = sys.argv[1]
    subprocess.Popen(
        [sys.executable, "-m", "support.fake_browser", "--drive", url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
