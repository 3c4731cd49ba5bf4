"""Run a command inside a private D-Bus session with a real Secret Service (gnome-keyring).

``dbus-run-session`` gives the command its own bus; ``gnome-keyring-daemon --unlock`` (password on
stdin) starts an unlocked ``login`` collection on it. With ``unlocked=False`` no daemon is started,
so the bus activates one whose collection is locked: the ``keyring`` package then fails fast with
``KeyringLocked``, a real "keyring unavailable" path.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class SecretServiceMissing(RuntimeError):
    pass


def check_secret_service_installed() -> None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise SecretServiceMissing(
                f"`{tool}` is missing: run `apt-get install -y gnome-keyring dbus` (./dev setup does)"
            )


def run_in_secret_service(
    command: Sequence[str],
    *,
    home: Path,
    env: Mapping[str, str],
    unlocked: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    check_secret_service_installed()
    start = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; "
        if unlocked
        else ""
    )
    script = start + 'exec "$@"'
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, "sh", *command],
        env={**env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
