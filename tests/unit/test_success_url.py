"""The /success URL the browser is sent to after the exchange: loginkit.signin._finish."""

from __future__ import annotations

from loginkit.core._profiles import OPENAI, generic_profile
from loginkit.oauth._idtoken import decode_jwt_payload
from loginkit.signin._finish import compose_success_url

from .fake_issuer import id_token_for, make_jwt


def test_success_url_shapes() -> None:
    id_token = id_token_for(organization_id="org-1", project_id="p")
    access = make_jwt({"https://api.openai.com/auth": {"chatgpt_plan_type": "pro"}})
    claims = decode_jwt_payload(id_token)  # what verification returns, for this test
    url = compose_success_url(1455, "https://auth.openai.com", OPENAI, claims, id_token, access)
    assert url == (
        "http://localhost:1455/success?id_token=&needs_setup=false&org_id=org-1&project_id=p"
        "&plan_type=pro&platform_url=https%3A%2F%2Fplatform.openai.com"
    )
    # A generic profile redirects to 127.0.0.1 (RFC 8252 8.3): /success stays on that origin.
    generic = generic_profile("https://idp", "c")
    assert (
        compose_success_url(9, "https://idp", generic, claims, id_token, access)
        == "http://127.0.0.1:9/success"
    )
