"""loginkit: sign a person in from a terminal through their browser, and keep the credentials.

Public names are re-exported here but loaded lazily (PEP 562), so ``import loginkit`` stays cheap
and the CLI's start-up path imports nothing it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ServerOptions": "loginkit.flow",
    "LoginServer": "loginkit.flow",
    "ShutdownHandle": "loginkit.flow",
    "run_login_server": "loginkit.flow",
    "run_login_server_with_progress": "loginkit.flow",
    "start_login_server": "loginkit.flow",
    "LoginPhase": "loginkit.progress",
    "LoginFailurePhase": "loginkit.progress",
    "LoginFailureCategory": "loginkit.progress",
    "ProgressSink": "loginkit.progress",
    "LoginkitError": "loginkit.errors",
    "LoginError": "loginkit.errors",
    "ErrorKind": "loginkit.errors",
    "CredentialStoreError": "loginkit.errors",
    "AuthCredentialsStoreMode": "loginkit.home",
    "AuthDotJson": "loginkit.storage",
    "find_codex_home": "loginkit.home",
    "Profile": "loginkit.profiles",
    "OPENAI": "loginkit.profiles",
    "Timeouts": "loginkit.limits",
    "ServerLimits": "loginkit.limits",
    "install_login_log": "loginkit.logfile",
    "TokenExchangeError": "loginkit.token_errors",
}

__all__ = [
    "OPENAI",
    "AuthCredentialsStoreMode",
    "AuthDotJson",
    "CredentialStoreError",
    "ErrorKind",
    "LoginError",
    "LoginFailureCategory",
    "LoginFailurePhase",
    "LoginPhase",
    "LoginServer",
    "LoginkitError",
    "Profile",
    "ProgressSink",
    "ServerLimits",
    "ServerOptions",
    "ShutdownHandle",
    "Timeouts",
    "TokenExchangeError",
    "find_codex_home",
    "install_login_log",
    "run_login_server",
    "run_login_server_with_progress",
    "start_login_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loginkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from loginkit.errors import CredentialStoreError, ErrorKind, LoginError, LoginkitError
    from loginkit.flow import (
        LoginServer,
        ServerOptions,
        ShutdownHandle,
        run_login_server,
        run_login_server_with_progress,
        start_login_server,
    )
    from loginkit.home import AuthCredentialsStoreMode, find_codex_home
    from loginkit.limits import ServerLimits, Timeouts
    from loginkit.logfile import install_login_log
    from loginkit.profiles import OPENAI, Profile
    from loginkit.progress import LoginFailureCategory, LoginFailurePhase, LoginPhase, ProgressSink
    from loginkit.storage import AuthDotJson
    from loginkit.token_errors import TokenExchangeError
