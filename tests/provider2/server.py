"""The second test provider: django-oauth-toolkit (a different, widely used OpenID provider).

    python tests/provider2/server.py [--port 0]

It binds 127.0.0.1 only, builds a fresh SQLite database in a scratch directory, registers the
test clients and users, and once listening prints exactly one JSON line on stdout:

    {"ready": true, "issuer": "http://127.0.0.1:PORT/o", "port": PORT,
     "code_client_id": "...", "device_client_id": "...", "users": {"alice": "..."}}

Everything else goes to stderr. SIGTERM stops it; the scratch directory goes with it.

Clients (both public, no secret): CODE_CLIENT_ID for the authorization code grant (+ refresh)
with loopback redirect URIs registered without a port on 127.0.0.1, [::1] and localhost (the
library lets only the two IP literals vary the port); DEVICE_CLIENT_ID for the device grant
(+ refresh): django-oauth-toolkit allows one grant type per client.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

STARTED = time.monotonic()
CODE_CLIENT_ID = "loginkit-native"
DEVICE_CLIENT_ID = "loginkit-device"
CALLBACK_PATHS = ("/auth/callback", "/callback")
USERS = {"alice": "alice-password", "bob": "bob-password"}


def milestone(what: str) -> None:
    """Start-up steps on stderr, so that a slow start says which step was slow."""
    sys.stderr.write(f"provider2 start: {what} at {(time.monotonic() - STARTED) * 1000:.0f} ms\n")
    sys.stderr.flush()


def rsa_pem() -> str:
    """A fresh RS256 signing key per run (ID tokens)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def populate() -> None:
    """Tables, users and the two public native clients."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    milestone("database built")
    user_model = get_user_model()
    for name, password in USERS.items():
        user_model.objects.create_user(name, f"{name}@example.com", password)
    app = get_application_model()
    redirect_uris = " ".join(
        f"http://{host}{path}"
        for host in ("127.0.0.1", "[::1]", "localhost")
        for path in CALLBACK_PATHS
    )
    common = {
        "client_type": app.CLIENT_PUBLIC,
        "client_secret": "",
        "algorithm": app.RS256_ALGORITHM,
        "skip_authorization": False,
    }
    app.objects.create(
        client_id=CODE_CLIENT_ID,
        name="loginkit (authorization code)",
        authorization_grant_type=app.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uris,
        **common,
    )
    app.objects.create(
        client_id=DEVICE_CLIENT_ID,
        name="loginkit (device)",
        authorization_grant_type=app.GRANT_DEVICE_CODE,
        redirect_uris="",
        **common,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    milestone("django imported")
    # Listen first: the issuer must contain the real port.
    server = ThreadedWSGIServer(("127.0.0.1", args.port), WSGIRequestHandler, ipv6=False)
    port = server.server_address[1]
    issuer = f"http://127.0.0.1:{port}/o"
    milestone(f"listening on {port}")

    scratch = Path(tempfile.mkdtemp(prefix="provider2-"))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        os._exit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)

    os.environ.update(
        DJANGO_SETTINGS_MODULE="settings",
        PROVIDER2_ISSUER=issuer,
        PROVIDER2_DIR=str(scratch),
        PROVIDER2_SECRET_KEY=secrets.token_urlsafe(32),
        PROVIDER2_RSA_KEY=rsa_pem(),
    )
    milestone("signing key generated")
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    populate()
    server.set_app(get_wsgi_application())
    milestone("ready")
    ready = {
        "ready": True,
        "issuer": issuer,
        "port": port,
        "code_client_id": CODE_CLIENT_ID,
        "device_client_id": DEVICE_CLIENT_ID,
        "users": USERS,
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
