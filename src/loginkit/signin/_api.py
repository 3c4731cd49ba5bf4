"""The public face of a browser sign-in: start it, wait for it (blocking or ``await``), cancel it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loginkit.core._exceptions import LoginError
from loginkit.core._phases import ProgressSink
from loginkit.signin._browser import LoginRun
from loginkit.signin._options import ServerOptions

if TYPE_CHECKING:
    from loginkit.loopback._callback import RunResult


class ShutdownHandle:
    """Cancels one running sign-in from any thread; clones all target the same run.

    It only stops the local server (no provider-side revocation). Await or block on the
    :class:`LoginServer` afterwards to observe the final error.
    """

    def __init__(self, run: LoginRun) -> None:
        self._run = run

    def shutdown(self) -> None:
        self._run.cancel()


class LoginServer:
    """A running browser sign-in: the link, the port, and the way to wait or cancel.

    Dropping it does not cancel the flow; call :meth:`cancel`. Bind and readiness failures are
    raised by the start call itself, never by :meth:`block_until_done`.
    """

    def __init__(self, run: LoginRun) -> None:
        self._run = run
        #: The provider authorization URL for this attempt (it contains the state: a secret).
        self.auth_url = run.auth_url
        #: The bound port; differs from ``ServerOptions.port`` when that was 0.
        self.actual_port = run.actual_port

    def block_until_done(self, timeout: float | None = None) -> None:
        """Wait for the end of the run; returns on success, raises :class:`LoginError` otherwise.

        Success means credentials were saved and the browser was sent to the success page.
        """
        result = self._run.result_future.result(timeout)
        _raise_for(result)

    async def wait(self) -> None:
        """``await`` form of :meth:`block_until_done`, for asyncio callers."""
        import asyncio

        result = await asyncio.wrap_future(self._run.result_future)
        _raise_for(result)

    def cancel(self) -> None:
        """Stop the local server; the run ends with "Login was not completed"."""
        self._run.cancel()

    def cancel_handle(self) -> ShutdownHandle:
        return ShutdownHandle(self._run)


def _raise_for(result: RunResult) -> None:
    from loginkit.loopback._callback import Outcome

    if result.outcome is not Outcome.SUCCESS:
        raise LoginError(result.message, kind=result.kind, failure=result.failure)


def run_login_server_with_progress(opts: ServerOptions, sink: ProgressSink | None) -> LoginServer:
    """Start a sign-in and report each phase to ``sink``; see :func:`run_login_server`.

    The sink is called from background threads, in order, one call at a time. It should return
    quickly; one that raises is dropped and the sign-in goes on.
    """
    run = LoginRun(opts, sink)
    run.bind()
    run.start()
    if opts.open_browser:
        run.launch_browser()
    return LoginServer(run)


def run_login_server(opts: ServerOptions) -> LoginServer:
    """Bind, start serving and (if asked) open the browser; returns once ready for the callback.

    Raises :class:`LoginError` when the port cannot be bound. Use
    :func:`run_login_server_with_progress` to see phases; without it the sign-in works, but the
    caller cannot tell binding from waiting from exchanging.
    """
    return run_login_server_with_progress(opts, None)


async def start_login_server(opts: ServerOptions, sink: ProgressSink | None = None) -> LoginServer:
    """Asyncio form of :func:`run_login_server_with_progress`: binding and its retries run off
    the caller's event loop. ``await server.wait()`` for the outcome."""
    import asyncio

    return await asyncio.to_thread(run_login_server_with_progress, opts, sink)
