"""The OAuth 2.0 / OpenID Connect protocol pieces: PKCE and the authorize URL, discovery, the
token, device and key-set endpoints over one HTTP client, id_token parsing and verification.

Pure functions and one-request helpers; no sign-in orchestration, no credential storage.
"""
