"""Every user-facing progress and failure text, snapshotted one file per screen.

The seed's 19 snapshots are vendored verbatim (``tests/seed_snapshots``, insta format) and each of
our renderings must equal the seed's body byte for byte; syrupy then pins the same text plus the
phases the seed never snapshotted, and the generic profile's words.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from loginkit.core._categories import LoginFailureCategory, LoginFailurePhase
from loginkit.core._phases import (
    ALL_PHASES,
    BindingLocalServer,
    CallbackReceived,
    ExchangingToken,
    Failed,
    LocalServerBound,
    LoginPhase,
    OpeningBrowser,
    PersistingCredentials,
    PreviousLoginServerDetected,
    Succeeded,
    WaitingForCallback,
)
from loginkit.core._profiles import OPENAI, generic_profile

from .snapshot_ext import TextSnapshot

SEED_DIR = Path(__file__).resolve().parents[1] / "seed_snapshots"
P = LoginFailurePhase
C = LoginFailureCategory

# The seed's own sample list (codex-rs/login/src/progress.rs tests), in its order.
SEED_SAMPLES: list[tuple[str, LoginPhase]] = [
    ("progress_retry_local_listener", BindingLocalServer(attempt=2)),
    ("progress_cleanup_old_login_session", PreviousLoginServerDetected(attempt=1)),
    ("progress_opening_browser", OpeningBrowser()),
    (
        "progress_callback_received",
        CallbackReceived(has_code=True, has_state=True, has_error=False, state_valid=True),
    ),
    ("progress_saving_credentials", PersistingCredentials()),
    (
        "failure_local_server_unavailable",
        Failed(
            P.BIND_LOCAL_SERVER,
            C.LOCAL_SERVER_UNAVAILABLE,
            "Port 127.0.0.1:1455 is already in use after 2000 ms",
        ),
    ),
    (
        "failure_browser_launch_failed",
        Failed(P.OPEN_BROWSER, C.BROWSER_LAUNCH_FAILED, "No browser found"),
    ),
    (
        "failure_login_cancelled",
        Failed(P.WAIT_FOR_CALLBACK, C.LOGIN_CANCELLED, "Login was not completed"),
    ),
    (
        "failure_callback_state_mismatch",
        Failed(P.VALIDATE_CALLBACK, C.CALLBACK_STATE_MISMATCH, "State mismatch"),
    ),
    (
        "failure_provider_callback_error",
        Failed(P.VALIDATE_CALLBACK, C.PROVIDER_CALLBACK_ERROR, "Sign-in failed: access_denied"),
    ),
    (
        "failure_missing_authorization_code",
        Failed(
            P.VALIDATE_CALLBACK,
            C.MISSING_AUTHORIZATION_CODE,
            "Missing authorization code. Sign-in could not be completed.",
        ),
    ),
    (
        "failure_token_exchange_timeout",
        Failed(P.EXCHANGE_TOKEN, C.TOKEN_EXCHANGE_TIMEOUT, "operation timed out"),
    ),
    (
        "failure_token_exchange_connect",
        Failed(
            P.EXCHANGE_TOKEN,
            C.TOKEN_EXCHANGE_CONNECT,
            "error sending request (endpoint: https://auth.openai.com/oauth/token)",
        ),
    ),
    (
        "failure_token_exchange_request",
        Failed(P.EXCHANGE_TOKEN, C.TOKEN_EXCHANGE_REQUEST, "request failed"),
    ),
    (
        "failure_token_endpoint_rejected",
        Failed(
            P.EXCHANGE_TOKEN,
            C.TOKEN_ENDPOINT_REJECTED,
            "token endpoint returned status 403 Forbidden: denied",
        ),
    ),
    (
        "failure_token_response_malformed",
        Failed(P.EXCHANGE_TOKEN, C.TOKEN_RESPONSE_MALFORMED, "expected value at line 1 column 1"),
    ),
    (
        "failure_workspace_restriction",
        Failed(
            P.VALIDATE_CALLBACK,
            C.WORKSPACE_RESTRICTION,
            "Login is restricted to workspace id org-required",
        ),
    ),
    (
        "failure_persist_failed",
        Failed(P.PERSIST_CREDENTIALS, C.PERSIST_FAILED, "permission denied"),
    ),
    (
        "failure_redirect_failed",
        Failed(P.REDIRECT_BACK_TO_CODEX, C.REDIRECT_FAILED, "invalid redirect header"),
    ),
]

# Phases (and variants) the seed rendered but never snapshotted.
EXTRA_SAMPLES: list[tuple[str, LoginPhase]] = [
    ("progress_starting_local_listener", BindingLocalServer(attempt=1)),
    ("progress_local_server_bound", LocalServerBound(port=1455)),
    ("progress_waiting_for_callback", WaitingForCallback()),
    (
        "progress_callback_received_invalid",
        CallbackReceived(has_code=True, has_state=True, has_error=False, state_valid=False),
    ),
    ("progress_exchanging_token", ExchangingToken()),
    ("progress_succeeded", Succeeded()),
    (
        "failure_local_port_forbidden",
        Failed(
            P.BIND_LOCAL_SERVER,
            C.LOCAL_PORT_FORBIDDEN,
            "Port 127.0.0.1:80 is reserved or not permitted by the operating system"
            " (Permission denied); choose another port with --port",
        ),
    ),
    (
        "failure_id_token_invalid",
        Failed(
            P.VALIDATE_CALLBACK,
            C.ID_TOKEN_INVALID,
            "id_token verification failed: expired 4000 s ago; check that this computer's clock"
            " is set correctly",
        ),
    ),
]


def seed_body(name: str) -> str:
    text = (SEED_DIR / f"{name}.snap").read_text(encoding="utf-8")
    # insta format: "---" header "---" then the body and a final newline.
    _, _, body = text.split("---\n", 2)
    return body.removesuffix("\n")


def test_every_seed_snapshot_is_sampled() -> None:
    vendored = sorted(p.stem for p in SEED_DIR.glob("*.snap"))
    assert vendored == sorted(name for name, _ in SEED_SAMPLES)
    assert len(vendored) == 19


@pytest.mark.parametrize(("name", "phase"), SEED_SAMPLES, ids=[n for n, _ in SEED_SAMPLES])
def test_rendering_equals_the_seed_byte_for_byte(
    name: str, phase: LoginPhase, snapshot: SnapshotAssertion
) -> None:
    assert str(phase) == seed_body(name)
    assert phase.render(OPENAI) == seed_body(name)
    assert str(phase) == snapshot(extension_class=TextSnapshot, name=name)


@pytest.mark.parametrize(("name", "phase"), EXTRA_SAMPLES, ids=[n for n, _ in EXTRA_SAMPLES])
def test_unsnapshotted_seed_phases(
    name: str, phase: LoginPhase, snapshot: SnapshotAssertion
) -> None:
    assert str(phase) == snapshot(extension_class=TextSnapshot, name=name)


GENERIC = generic_profile("https://idp.example.com", "my-cli")


@pytest.mark.parametrize(
    "category", list(LoginFailureCategory), ids=[c.value for c in LoginFailureCategory]
)
def test_generic_profile_failure_blocks(
    category: LoginFailureCategory, snapshot: SnapshotAssertion
) -> None:
    block = Failed(LoginFailurePhase.EXCHANGE_TOKEN, category, "sample detail").render(GENERIC)
    assert "Codex" not in block and "codex" not in block
    assert block == snapshot(extension_class=TextSnapshot, name=f"generic_{category.value}")


def test_generic_profile_phase_words(snapshot: SnapshotAssertion) -> None:
    lines = [
        PersistingCredentials().render(GENERIC),
        Failed(P.REDIRECT_BACK_TO_CODEX, C.REDIRECT_FAILED, "x").render(GENERIC),
    ]
    assert "\n".join(lines) == snapshot(extension_class=TextSnapshot, name="generic_phase_words")


def test_visibility_matches_the_seed() -> None:
    visible = {
        "BindingLocalServer(1)": BindingLocalServer(1).is_user_visible(),
        "BindingLocalServer(2)": BindingLocalServer(2).is_user_visible(),
        "PreviousLoginServerDetected": PreviousLoginServerDetected(1).is_user_visible(),
        "LocalServerBound": LocalServerBound(1).is_user_visible(),
        "OpeningBrowser": OpeningBrowser().is_user_visible(),
        "WaitingForCallback": WaitingForCallback().is_user_visible(),
        "CallbackReceived(valid)": CallbackReceived(True, True, False, True).is_user_visible(),
        "CallbackReceived(error)": CallbackReceived(False, True, True, True).is_user_visible(),
        "CallbackReceived(bad state)": CallbackReceived(True, True, False, False).is_user_visible(),
        "ExchangingToken": ExchangingToken().is_user_visible(),
        "PersistingCredentials": PersistingCredentials().is_user_visible(),
        "Succeeded": Succeeded().is_user_visible(),
        "Failed": Failed(P.OPEN_BROWSER, C.BROWSER_LAUNCH_FAILED, "x").is_user_visible(),
    }
    assert visible == {
        "BindingLocalServer(1)": False,
        "BindingLocalServer(2)": True,
        "PreviousLoginServerDetected": True,
        "LocalServerBound": False,
        "OpeningBrowser": True,
        "WaitingForCallback": False,
        "CallbackReceived(valid)": True,
        "CallbackReceived(error)": False,
        "CallbackReceived(bad state)": False,
        "ExchangingToken": False,
        "PersistingCredentials": True,
        "Succeeded": False,
        "Failed": True,
    }


def test_vocabulary_is_closed_and_stable() -> None:
    assert len(ALL_PHASES) == 10
    assert len({p.id for p in ALL_PHASES}) == 10
    assert len(LoginFailurePhase) == 8, "the seed's 7, plus discover_provider"
    assert len(LoginFailureCategory) == 20, (
        "the seed's 14, plus local_port_forbidden, id_token_invalid, login_timed_out,"
        " provider_discovery_failed, another_providers_record and callback_issuer_mismatch"
    )
    assert [c.id for c in LoginFailureCategory] == [
        "local_server_unavailable",
        "browser_launch_failed",
        "login_cancelled",
        "callback_state_mismatch",
        "provider_callback_error",
        "missing_authorization_code",
        "token_exchange_timeout",
        "token_exchange_connect",
        "token_exchange_request",
        "token_endpoint_rejected",
        "token_response_malformed",
        "workspace_restriction",
        "persist_failed",
        "redirect_failed",
        "local_port_forbidden",
        "id_token_invalid",
        "login_timed_out",
        "provider_discovery_failed",
        "another_providers_record",
        "callback_issuer_mismatch",
    ]
    assert str(LoginFailureCategory.PERSIST_FAILED) == "persist_failed"
    assert str(LoginFailurePhase.REDIRECT_BACK_TO_CODEX) == "redirecting back to Codex"
    assert LoginFailureCategory.TOKEN_EXCHANGE_CONNECT.title == "Couldn't reach the auth server"
    assert LoginPhase.Failed is Failed
