"""Where loginkit keeps a generic provider's home, as plain strings, with builtin modules only.

:func:`loginkit.store._home.provider_home` (the full CLI) and the link-first start both name the
directory with :func:`provider_dir_name`, so they cannot drift; the link-first start splits the
issuer with :func:`loginkit.oauth._lighthttp.split_url` (equal to ``urllib.parse.urlsplit`` for
every issuer it accepts) and gives up (None) on anything it doubts.
"""

from __future__ import annotations

import os

from loginkit.oauth._pkce import sha256_hex


def provider_dir_name(issuer: str, client_id: str, hostname: str | None, path: str) -> str:
    """The directory name of one issuer + client id: readable (``hostname``, ``path``, client
    id; ``hostname`` and ``path`` as ``urlsplit`` gives them for the issuer without its trailing
    slash) and ending with a hash of the exact pair, so two pairs that read alike never share
    a directory."""
    readable = f"{hostname or 'issuer'}{path}--{client_id}"
    slug = "".join(c if c.isalnum() or c in "-._" else "-" for c in readable)[:80].strip("-.")
    digest = sha256_hex(f"{issuer.rstrip('/')}\n{client_id}".encode())[:10]
    return f"{slug}-{digest}"


def light_provider_home(issuer: str, client_id: str) -> str | None:
    """The path :func:`loginkit.store._home.provider_home` gives, as a string, or None when
    only the full code can say (an issuer the light split doubts, an unusual
    ``XDG_CONFIG_HOME`` or home directory that pathlib would normalise)."""
    from loginkit.oauth._lighthttp import split_url

    parts = split_url(issuer.rstrip("/"))
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = (
        base if base and os.path.isabs(base) else os.path.join(os.path.expanduser("~"), ".config")
    )
    if parts is None or root.startswith("//") or os.path.normpath(root) != root:
        return None
    name = provider_dir_name(issuer, client_id, parts.hostname, parts.path)
    return os.path.join(root, "loginkit", "providers", name)
