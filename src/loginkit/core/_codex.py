"""The Codex CLI's sign-in constants: one place, no imports.

:data:`loginkit.core._profiles.OPENAI` is built from these, and so is the link that ``loginkit login``
prints before anything heavier than ``socket`` is imported (:mod:`loginkit.cli._linkfirst`).
"""

OPENAI_ISSUER = "https://auth.openai.com"
OPENAI_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
DEFAULT_PORT = 1455
DEFAULT_ORIGINATOR = "codex_cli_rs"
AUTHORIZE_PATH = "/oauth/authorize"
REDIRECT_HOST = "localhost"
SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
#: Inserted between ``code_challenge_method`` and ``state``, where Codex puts them.
EXTRA_AUTHORIZE_PARAMS = (
    ("id_token_add_organizations", "true"),
    ("codex_cli_simplified_flow", "true"),
)
DEVICE_LOGIN_COMMAND = "codex login --device-auth"
#: The login log in ``<home>/log``: the Codex CLI's own file, so both programs append to one.
LOG_FILE = "codex-login.log"
