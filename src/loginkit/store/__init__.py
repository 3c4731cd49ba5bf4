"""Where credentials live: the home directory and config.toml, ``auth.json`` (atomic, 0600),
the OS keyring, auto and ephemeral stores, the locks shared with the Codex CLI, status, logout,
API keys, and the refresh that never races.
"""
