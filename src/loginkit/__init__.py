"""loginkit: sign a person in from a terminal through their browser, and keep the credentials.

Public names are re-exported here but loaded lazily (PEP 562), so ``import loginkit`` stays cheap
and the CLI's start-up path imports nothing it does not need.
"""

from __future__ import annotations

import importlib

# Not ``from typing import TYPE_CHECKING``: every ``loginkit`` command imports this package first,
# and typing costs ~10 ms that ``loginkit token`` otherwise never pays. mypy treats the name as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    "get_access_token": "loginkit.credentials",
    "aget_access_token": "loginkit.credentials",
    "login_status": "loginkit.credentials",
    "alogin_status": "loginkit.credentials",
    "login_with_api_key": "loginkit.credentials",
    "alogin_with_api_key": "loginkit.credentials",
    "logout": "loginkit.credentials",
    "alogout": "loginkit.credentials",
    "load_auth": "loginkit.credentials",
    "NotLoggedInError": "loginkit.credentials",
    "LoginStatus": "loginkit.credentials",
    "RefreshError": "loginkit.refresh",
    "DeviceLoginOptions": "loginkit.device_code",
    "DeviceCode": "loginkit.device_code",
    "DeviceLoginError": "loginkit.device_code",
    "request_device_code": "loginkit.device_code",
    "complete_device_code_login": "loginkit.device_code",
    "run_device_code_login": "loginkit.device_code",
    "arun_device_code_login": "loginkit.device_code",
}

__all__ = [
    "OPENAI",
    "AuthCredentialsStoreMode",
    "AuthDotJson",
    "CredentialStoreError",
    "DeviceCode",
    "DeviceLoginError",
    "DeviceLoginOptions",
    "ErrorKind",
    "LoginError",
    "LoginFailureCategory",
    "LoginFailurePhase",
    "LoginPhase",
    "LoginServer",
    "LoginStatus",
    "LoginkitError",
    "NotLoggedInError",
    "Profile",
    "ProgressSink",
    "RefreshError",
    "ServerLimits",
    "ServerOptions",
    "ShutdownHandle",
    "Timeouts",
    "TokenExchangeError",
    "aget_access_token",
    "alogin_status",
    "alogin_with_api_key",
    "alogout",
    "arun_device_code_login",
    "complete_device_code_login",
    "find_codex_home",
    "get_access_token",
    "install_login_log",
    "load_auth",
    "login_status",
    "login_with_api_key",
    "logout",
    "request_device_code",
    "run_device_code_login",
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
    from loginkit.credentials import (
        LoginStatus,
        NotLoggedInError,
        aget_access_token,
        alogin_status,
        alogin_with_api_key,
        alogout,
        get_access_token,
        load_auth,
        login_status,
        login_with_api_key,
        logout,
    )
    from loginkit.device_code import (
        DeviceCode,
        DeviceLoginError,
        DeviceLoginOptions,
        arun_device_code_login,
        complete_device_code_login,
        request_device_code,
        run_device_code_login,
    )
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
    from loginkit.refresh import RefreshError
    from loginkit.storage import AuthDotJson
    from loginkit.token_errors import TokenExchangeError
