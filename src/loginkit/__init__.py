"""loginkit: sign a person in from a terminal through their browser, and keep the credentials.

Public names are re-exported here but loaded lazily (PEP 562), so ``import loginkit`` stays cheap
and the CLI's start-up path imports nothing it does not need.
"""

# Every ``loginkit`` command imports this package first, so it imports nothing at all: not
# ``typing`` (~10 ms), not ``importlib`` (it brings ``warnings``), not even ``__future__`` (a real
# import; the annotations below are strings or valid at run time). mypy treats the name as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "ServerOptions": "loginkit.signin._options",
    "LoginServer": "loginkit.signin._api",
    "ShutdownHandle": "loginkit.signin._api",
    "run_login_server": "loginkit.signin._api",
    "run_login_server_with_progress": "loginkit.signin._api",
    "start_login_server": "loginkit.signin._api",
    "LoginPhase": "loginkit.core._phases",
    "LoginFailurePhase": "loginkit.core._categories",
    "LoginFailureCategory": "loginkit.core._categories",
    "ProgressSink": "loginkit.core._phases",
    "LoginkitError": "loginkit.core._exceptions",
    "LoginError": "loginkit.core._exceptions",
    "ErrorKind": "loginkit.core._exceptions",
    "CredentialStoreError": "loginkit.core._exceptions",
    "AuthCredentialsStoreMode": "loginkit.store._home",
    "AuthDotJson": "loginkit.store._authfile",
    "find_codex_home": "loginkit.store._home",
    "Profile": "loginkit.core._profiles",
    "OPENAI": "loginkit.core._profiles",
    "Timeouts": "loginkit.core._limits",
    "ServerLimits": "loginkit.core._limits",
    "install_login_log": "loginkit.core._log",
    "TokenExchangeError": "loginkit.core._exceptions",
    "get_access_token": "loginkit.store._credentials",
    "aget_access_token": "loginkit.store._credentials",
    "login_status": "loginkit.store._credentials",
    "alogin_status": "loginkit.store._credentials",
    "login_with_api_key": "loginkit.store._credentials",
    "alogin_with_api_key": "loginkit.store._credentials",
    "logout": "loginkit.store._credentials",
    "alogout": "loginkit.store._credentials",
    "load_auth": "loginkit.store._credentials",
    "NotLoggedInError": "loginkit.core._exceptions",
    "LoginStatus": "loginkit.store._credentials",
    "RefreshError": "loginkit.core._exceptions",
    "DeviceLoginOptions": "loginkit.signin._device",
    "DeviceCode": "loginkit.signin._device",
    "DeviceLoginError": "loginkit.core._exceptions",
    "request_device_code": "loginkit.signin._device",
    "complete_device_code_login": "loginkit.signin._device",
    "run_device_code_login": "loginkit.signin._device",
    "arun_device_code_login": "loginkit.signin._device",
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


def _installed_version() -> str:
    """The installed distribution's version (the one in pyproject.toml), read on first use:
    importlib.metadata costs ~30 ms that ``loginkit token`` never pays."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("loginkit")
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        found = _installed_version()
        globals()[name] = found
        return found
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loginkit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    #: ``loginkit.__version__``: the installed package's version, from its metadata.
    __version__: str
    from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
    from loginkit.core._exceptions import (
        CredentialStoreError,
        DeviceLoginError,
        ErrorKind,
        LoginError,
        LoginkitError,
        NotLoggedInError,
        RefreshError,
        TokenExchangeError,
    )
    from loginkit.core._limits import ServerLimits, Timeouts
    from loginkit.core._log import install_login_log
    from loginkit.core._phases import LoginPhase, ProgressSink
    from loginkit.core._profiles import OPENAI, Profile
    from loginkit.signin._api import (
        LoginServer,
        ShutdownHandle,
        run_login_server,
        run_login_server_with_progress,
        start_login_server,
    )
    from loginkit.signin._device import (
        DeviceCode,
        DeviceLoginOptions,
        arun_device_code_login,
        complete_device_code_login,
        request_device_code,
        run_device_code_login,
    )
    from loginkit.signin._options import ServerOptions
    from loginkit.store._authfile import AuthDotJson
    from loginkit.store._credentials import (
        LoginStatus,
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
    from loginkit.store._home import AuthCredentialsStoreMode, find_codex_home
