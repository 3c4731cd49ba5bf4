"""The sans-IO decisions on each loopback request: loginkit.loopback._callback."""

from __future__ import annotations

from loginkit.core._exceptions import ErrorKind
from loginkit.core._phases import CallbackReceived
from loginkit.loopback._callback import CallbackContext, Exchange, Finish, Reply, Request, decide

CTX = CallbackContext(expected_state="S" * 43, port=1455)


def req(target: str, method: str = "GET", host: str | None = "127.0.0.1:1455") -> Request:
    return Request(method=method, target=target, host=host)


def test_decide_routes() -> None:
    assert isinstance(decide(req("/favicon.ico"), CTX), Reply)
    assert decide(req("/favicon.ico"), CTX).response.status == 404  # type: ignore[union-attr]
    cancel = decide(req("/cancel"), CTX)
    assert isinstance(cancel, Finish) and cancel.result.kind is ErrorKind.INTERRUPTED
    assert cancel.response.body == b"Login cancelled" and cancel.response.close
    assert decide(req("/success"), CTX).response.status == 404  # type: ignore[union-attr]
    assert decide(req("*", "OPTIONS"), CTX).response.status == 400  # type: ignore[union-attr]
    assert decide(req("/", host=None), CTX).response.status == 400  # type: ignore[union-attr]
    assert decide(req("/", host="127.0.0.1:1456"), CTX).response.status == 400  # type: ignore[union-attr]


def test_decide_callback_order() -> None:
    state = "S" * 43
    mismatch = decide(req("/auth/callback?error=access_denied&state=wrong"), CTX)
    assert isinstance(mismatch, Reply) and mismatch.response.status == 400, "state is checked first"
    error = decide(req(f"/auth/callback?error=&state={state}&code=c"), CTX)
    assert isinstance(error, Finish) and error.result.message == "Sign-in failed: ", (
        "any error value ends"
    )
    described = decide(req(f"/auth/callback?error=e&error_description=%20%20&state={state}"), CTX)
    assert isinstance(described, Finish) and described.result.message == "Sign-in failed: e"
    missing = decide(req(f"/auth/callback?code=&state={state}"), CTX)
    assert isinstance(missing, Finish) and missing.result.kind is ErrorKind.INVALID_DATA
    good = decide(req(f"/auth/callback?code=first&code=secret-code-value&state={state}"), CTX)
    assert isinstance(good, Exchange) and good.code == "secret-code-value", "the last value wins"
    assert good.events == (CallbackReceived(True, True, False, True),)
    assert "secret-code-value" not in repr(good)


def test_decide_after_success_redirects_again() -> None:
    done = CallbackContext(
        expected_state="S", port=1455, success_location="http://localhost:1455/success?x=1"
    )
    again = decide(req("/auth/callback?code=used&state=S"), done)
    assert isinstance(again, Reply) and again.response.location == done.success_location
    assert not again.events
    page = decide(req("/success"), done)
    assert isinstance(page, Finish) and b"Signed in to Codex" in page.response.body
