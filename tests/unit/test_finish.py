"""The finishing step both flows share: loginkit.signin._finish."""

from __future__ import annotations

from loginkit.oauth._idtoken import decode_jwt_payload
from loginkit.signin._finish import workspace_violation

from .fake_issuer import id_token_for


def claims_of(org: str | None) -> dict[str, object]:
    return decode_jwt_payload(id_token_for(org))


def test_workspace_violation_messages() -> None:
    assert workspace_violation(None, {}) is None
    assert workspace_violation("org-alice", claims_of("org-alice")) is None
    assert (
        workspace_violation("org-x", claims_of("org-alice"))
        == "Login is restricted to workspace id org-x."
    )
    assert "did not include an chatgpt_account_id claim" in str(
        workspace_violation("org-x", claims_of(None))
    )
