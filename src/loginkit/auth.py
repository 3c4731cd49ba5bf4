"""Bearer auth for the HTTP clients of programs that embed loginkit: two lines and every request
carries a valid access token.

.. code-block:: python

    import httpx
    from loginkit.auth import HttpxAuth

    client = httpx.Client(auth=HttpxAuth())  # or httpx.AsyncClient(auth=HttpxAuth())

    import requests
    from loginkit.auth import RequestsAuth

    session = requests.Session()
    session.auth = RequestsAuth()

- :class:`HttpxAuth` is an ``httpx.Auth`` (sync and async clients), :class:`RequestsAuth` a
  ``requests.auth.AuthBase``, and :class:`Httpx2Auth` the same as :class:`HttpxAuth` for
  ``httpx2`` (the client loginkit itself uses, so it needs no extra). Each is built from a codex
  home and a store (both as in :func:`loginkit.get_access_token`); more keyword arguments (a
  profile, an issuer) may come later, so pass them by name.
- Every request gets ``Authorization: Bearer <access token>`` (the API key for an API-key
  sign-in). A token that expires within ``min_validity`` seconds is refreshed first, under the
  same lock next to ``auth.json`` as ``loginkit token``, so any number of clients and processes
  make one refresh.
- A 401 answer makes one refresh and one retry of that request, never more. The refresh happens
  only if the stored token is still the one the server rejected (re-read under the lock): when
  another process already replaced it, the new one is used, so a burst of 401s never stampedes the
  token endpoint or reuses a rotated refresh token. A second 401 is returned to the caller as is.
- A refresh token rejected for good raises :class:`loginkit.RefreshError` with ``permanent`` set
  and a message that says to sign in again; the request is not sent. Other failures raise what
  :func:`loginkit.get_access_token` raises (:class:`loginkit.NotLoggedInError`, ...).
- The request body is read into memory before it is sent (httpx) so the one retry can resend it;
  with requests, a streaming body that cannot seek back is not retried correctly.

Neither httpx nor requests is a dependency: this module imports them on first use of their
class (``pip install 'loginkit[httpx]'`` or ``'loginkit[requests]'``); importing it loads neither.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator, MutableMapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from loginkit.core._exceptions import CredentialStoreError
from loginkit.core._limits import Timeouts
from loginkit.core._sanitize import bearer_token_problem
from loginkit.store._home import AuthCredentialsStoreMode

if TYPE_CHECKING:
    import httpx
    import httpx2
    import requests
    import requests.auth

__all__ = ["Httpx2Auth", "HttpxAuth", "RequestsAuth"]

StoreArg = AuthCredentialsStoreMode | str | None

#: The package that provides each class, and the extra that installs it.
_PACKAGES = {"HttpxAuth": "httpx", "Httpx2Auth": "httpx2", "RequestsAuth": "requests"}


def missing_package_message(name: str) -> str:
    """The ImportError of ``from loginkit.auth import <name>`` without its HTTP package."""
    package = _PACKAGES[name]
    return (
        f"loginkit.auth.{name} needs the {package} package, which is not installed:"
        f" pip install 'loginkit[{package}]'"
    )


def malformed_token_message(problem: str) -> str:
    """Why a stored credential was not sent (never quotes it: it is a secret)."""
    return (
        f"The stored access token or API key is malformed ({problem}); it was not sent."
        " Sign in again with `loginkit login`."
    )


class _Credentials:
    """Where the bearer credential comes from, and the last one handed out (reused, without
    touching the store, while its ``exp`` is more than ``min_validity`` seconds away)."""

    def __init__(
        self,
        codex_home: Path | str | None,
        store: StoreArg,
        min_validity: float,
        timeouts: Timeouts | None,
    ) -> None:
        self.codex_home = codex_home
        self.store = store
        self.min_validity = min_validity
        self.timeouts = timeouts
        self._cached: tuple[str, float] | None = None

    def _from_cache(self) -> str | None:
        cached = self._cached
        if cached is not None and cached[1] - time.time() >= self.min_validity:
            return cached[0]
        return None

    def _keep(self, token: str) -> str:
        from loginkit.store._refresh import token_expiry

        problem = bearer_token_problem(token)
        if problem is not None:
            self._cached = None
            raise CredentialStoreError(malformed_token_message(problem))
        exp = token_expiry(token)
        self._cached = (token, float(exp)) if exp is not None else None
        return token

    def token(self) -> str:
        cached = self._from_cache()
        if cached is not None:
            return cached
        from loginkit.store._credentials import get_access_token

        return self._keep(
            get_access_token(
                self.codex_home,
                self.store,
                min_validity=self.min_validity,
                timeouts=self.timeouts,
            )
        )

    async def atoken(self) -> str:
        cached = self._from_cache()
        if cached is not None:
            return cached
        from loginkit.store._credentials import aget_access_token

        return self._keep(
            await aget_access_token(
                self.codex_home,
                self.store,
                min_validity=self.min_validity,
                timeouts=self.timeouts,
            )
        )

    def after_401(self, rejected: str) -> str | None:
        """The credential to retry with, or None (nothing new to try)."""
        from loginkit.store._credentials import refresh_rejected_access_token

        self._cached = None
        fresh = refresh_rejected_access_token(
            rejected,
            self.codex_home,
            self.store,
            min_validity=self.min_validity,
            timeouts=self.timeouts,
        )
        return None if fresh is None or fresh == rejected else self._keep(fresh)

    async def aafter_401(self, rejected: str) -> str | None:
        from loginkit.store._credentials import arefresh_rejected_access_token

        self._cached = None
        fresh = await arefresh_rejected_access_token(
            rejected,
            self.codex_home,
            self.store,
            min_validity=self.min_validity,
            timeouts=self.timeouts,
        )
        return None if fresh is None or fresh == rejected else self._keep(fresh)


class _Request(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...

    def read(self) -> bytes: ...

    async def aread(self) -> bytes: ...


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...


_Req = TypeVar("_Req", bound=_Request)
_Resp = TypeVar("_Resp", bound=_Response)


class _BearerAuth:
    """What every flow holds: the credentials it reads, refreshes and retries with."""

    def __init__(
        self,
        codex_home: Path | str | None = None,
        store: StoreArg = None,
        *,
        min_validity: float = 60.0,
        timeouts: Timeouts | None = None,
    ) -> None:
        self._credentials = _Credentials(codex_home, store, min_validity, timeouts)


class _HttpxFlow(_BearerAuth, Generic[_Req, _Resp]):
    """Bearer auth for an httpx (or httpx2) client: ``httpx.Client(auth=HttpxAuth())``.

    ``codex_home`` (default ``$CODEX_HOME``, else ``~/.codex``) and ``store`` (default: config.toml,
    else ``file``) say where the credentials are, as for :func:`loginkit.get_access_token`;
    ``min_validity``: refresh a token that expires within this many seconds before sending.
    Works with sync and async clients; one instance may serve many requests and threads. Further
    options will be keyword-only: pass everything by name.
    """

    def sync_auth_flow(self, request: _Req) -> Generator[_Req, _Resp, None]:
        request.read()  # so that the one retry can send the body again
        token = self._credentials.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        fresh = self._credentials.after_401(token)
        if fresh is not None:
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request

    async def async_auth_flow(self, request: _Req) -> AsyncGenerator[_Req, _Resp]:
        await request.aread()
        token = await self._credentials.atoken()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        fresh = await self._credentials.aafter_401(token)
        if fresh is not None:
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request


class _RequestsFlow(_BearerAuth):
    """Bearer auth for requests: ``session.auth = RequestsAuth()`` or ``requests.get(url,
    auth=RequestsAuth())``.

    Same arguments and behaviour as :class:`HttpxAuth`. The one retry after a 401 goes through the
    same connection adapter with the same send options (timeout, verify, proxies), like
    ``requests``' own digest auth; the 401 response is in ``response.history``.
    """

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._credentials.token()
        request.headers["Authorization"] = f"Bearer {token}"
        position: int | None = None
        tell = getattr(request.body, "tell", None)
        if tell is not None:
            try:
                position = tell()
            except OSError:
                position = None
        request.register_hook(  # type: ignore[no-untyped-call]
            "response", partial(self._retry_on_401, token, position)
        )
        return request

    def _retry_on_401(
        self, token: str, position: int | None, response: requests.Response, **send: Any
    ) -> requests.Response:
        if response.status_code != 401:
            return response
        try:
            fresh = self._credentials.after_401(token)
        except BaseException:
            response.close()  # the caller gets the exception, never this response
            raise
        if fresh is None:
            return response
        from requests.cookies import extract_cookies_to_jar

        rejected = response.request
        if position is not None:
            rejected.body.seek(position)  # type: ignore[union-attr]
        _ = response.content  # drain the 401 so its connection can be reused
        response.close()
        retry = rejected.copy()
        cookies = retry._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(cookies, rejected, response.raw)  # type: ignore[no-untyped-call]
        retry.prepare_cookies(cookies)
        retry.headers["Authorization"] = f"Bearer {fresh}"
        # Only one retry: the copy keeps the caller's hooks but not this one.
        retry.hooks = {
            **retry.hooks,
            "response": [
                hook
                for hook in retry.hooks.get("response", [])
                if getattr(hook, "func", None) != self._retry_on_401
            ],
        }
        answer: requests.Response = response.connection.send(retry, **send)
        answer.history.append(response)
        answer.request = retry
        return answer


if TYPE_CHECKING:

    class HttpxAuth(_HttpxFlow[httpx.Request, httpx.Response], httpx.Auth):
        pass

    class Httpx2Auth(_HttpxFlow[httpx2.Request, httpx2.Response], httpx2.Auth):
        pass

    class RequestsAuth(_RequestsFlow, requests.auth.AuthBase):
        pass


def __getattr__(name: str) -> Any:
    """Build :class:`HttpxAuth`, :class:`Httpx2Auth` or :class:`RequestsAuth` on first access,
    importing its HTTP package then (ImportError naming the extra to install if it is missing)."""
    package = _PACKAGES.get(name)
    if package is None:
        raise AttributeError(f"module 'loginkit.auth' has no attribute {name!r}")
    import importlib

    try:
        if package == "requests":
            base = importlib.import_module("requests.auth").AuthBase
            flow: type = _RequestsFlow
        else:
            base = importlib.import_module(package).Auth
            flow = _HttpxFlow
    except ImportError as exc:
        raise ImportError(missing_package_message(name), name=package) from exc
    built = type(name, (flow, base), {"__module__": __name__, "__qualname__": name})
    built.__doc__ = flow.__doc__
    globals()[name] = built
    return built


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
