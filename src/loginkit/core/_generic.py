"""The generic OpenID Connect profile's constants: one place, no imports.

:func:`loginkit.core._profiles.generic_profile` is built from these, and so is the link the
link-first start prints for ``--issuer ... --client-id ...`` before anything heavy is imported.
"""

#: What a generic sign-in asks for: an id_token, the person's profile and email, and a
#: refresh token (``offline_access``).
GENERIC_SCOPE = "openid profile email offline_access"
#: RFC 8252 section 8.3: providers may vary the port only for IP literals, so a generic
#: profile's redirect URI names ``127.0.0.1``.
GENERIC_REDIRECT_HOST = "127.0.0.1"
#: The path of every profile's redirect URI unless configured otherwise.
REDIRECT_PATH = "/auth/callback"
#: The device-code command a loginkit profile's words name.
DEVICE_LOGIN_COMMAND = "loginkit login --device-auth"
#: The login log in ``<home>/log`` of a provider home of loginkit's own (under
#: ``$XDG_CONFIG_HOME/loginkit/providers``): it names no other program. A Codex-style home
#: (``$CODEX_HOME``, ``~/.codex``, ``--codex-home``) keeps the Codex CLI's ``codex-login.log``.
LOG_FILE = "loginkit-login.log"
