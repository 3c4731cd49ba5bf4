"""Django settings of the second test provider: django-oauth-toolkit, configured strictly.

Read by tests/provider2/server.py, which binds the port first and passes the issuer in
PROVIDER2_ISSUER (the issuer must carry the real port) and a scratch directory in
PROVIDER2_DIR (the SQLite database lives there and dies with it).

Every strict property the issue "Any real OpenID provider, first class" asks for is a setting
here, never code: PKCE required and S256 only, RFC 8252 section 8.3 loopback matching (only
127.0.0.1 and [::1] may vary the port; `localhost` must match exactly), opaque access tokens,
refresh-token rotation with reuse detection, revocation, and the device grant.
"""

from __future__ import annotations

import os
from pathlib import Path

ISSUER = os.environ["PROVIDER2_ISSUER"]  # http://127.0.0.1:PORT/o
SCRATCH = Path(os.environ["PROVIDER2_DIR"])
HERE = Path(__file__).resolve().parent

DEBUG = False
SECRET_KEY = os.environ["PROVIDER2_SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": SCRATCH / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Fast start: build the tables straight from the models instead of replaying every migration.
MIGRATION_MODULES = {
    app: None for app in ("auth", "contenttypes", "sessions", "oauth2_provider", "staticfiles")
}
# A test user's password is hashed once per start; PBKDF2 at full strength costs a second.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    # The request log would carry authorization URLs (state, code challenge): keep it quiet.
    "loggers": {"django.server": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_RSA_PRIVATE_KEY": os.environ["PROVIDER2_RSA_KEY"],
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "Your name",
        "email": "Your email address",
        "offline_access": "Stay signed in",
    },
    "DEFAULT_SCOPES": ["openid"],
    # PKCE for every authorization code, and only S256 (RFC 9700 2.1.1).
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # No implicit or password grant, tokens never in a query string, RFC 9207 `iss` on the
    # authorization response, tokens stored hashed.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 8252 8.3: `localhost` is not a loopback IP literal, so its port must match exactly.
    "ALLOW_LOCALHOST_LOOPBACK": False,
    "ALLOW_URI_WILDCARDS": False,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # A refresh rotates the refresh token; replaying the old one is refused and revokes the
    # whole family (RFC 9700 4.14.2).
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,
    "REQUEST_APPROVAL_PROMPT": "force",  # the consent page shows on every authorization
    # RFC 8628: the user enters the code here; clients poll every second (the tests wait less).
    "OAUTH_DEVICE_VERIFICATION_URI": f"{ISSUER}/device/",
    "DEVICE_FLOW_INTERVAL": 1,
}
