"""Named profiles in loginkit.toml (issue "any real OpenID provider", item 2): a CLI author ships
the provider's settings once; `--profile NAME` selects them for every command, flags win."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from support.cli_runner import run_loginkit
from support.discovery import DOC, discovery_server
from syrupy.assertion import SnapshotAssertion

from .snapshot_ext import TextSnapshot

PROFILE = """
[profiles.work]
issuer = "{issuer}"
client_id = "work-cli"
scopes = ["openid", "email", "offline_access"]
redirect_path = "/callback"
app_name = "Work CLI"
help_url = "https://example.com/help"
login_command = "workcli login"
"""


def config(tmp_path: Path, text: str) -> dict[str, str]:
    directory = tmp_path / "config" / "loginkit"
    directory.mkdir(parents=True, mode=0o700)
    (directory / "loginkit.toml").write_text(text)
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_a_named_profile_selects_provider_scopes_redirect_and_words(tmp_path: Path) -> None:
    with discovery_server(200, DOC) as issuer:
        env = config(tmp_path, PROFILE.format(issuer=issuer))
        done = run_loginkit(
            "login", "--profile", "work", "--port", "0", "--no-browser", "--timeout", "0.5", env=env
        )
        flags_win = run_loginkit(
            "login",
            "--profile",
            "work",
            "--scope",
            "openid",
            "--port",
            "0",
            "--no-browser",
            "--timeout",
            "0.5",
            env=env,
        )
        status = run_loginkit("login", "status", "--profile", "work", env=env)
    link = next(line for line in done.stderr.splitlines() if line.startswith("http"))
    query = parse_qs(urlsplit(link).query)
    assert link.startswith(f"{issuer}/authorize?")
    assert query["client_id"] == ["work-cli"]
    assert query["scope"] == ["openid email offline_access"]
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert query["redirect_uri"][0].endswith("/callback")
    assert "`workcli login --device-auth`" in done.stderr, "the profile's words"
    assert "Work CLI couldn't finish signing in" in done.stderr
    assert "Help: https://example.com/help" in done.stderr
    assert "Codex" not in done.stderr
    flags_link = next(line for line in flags_win.stderr.splitlines() if line.startswith("http"))
    assert parse_qs(urlsplit(flags_link).query)["scope"] == ["openid"]
    # status with the same profile looks in the same home (the provider's own).
    assert status.returncode == 1
    assert "/config/loginkit/providers/127.0.0.1--work-cli-" in status.stderr


def test_a_missing_or_broken_profile_says_what_is_wrong(
    tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    env = config(tmp_path, '[profiles.work]\nissuer = "https://idp.example.com"\nport = "many"\n')
    missing = run_loginkit("login", "status", "--profile", "home", env=env)
    broken = run_loginkit("login", "status", "--profile", "work", env=env)
    assert missing.returncode == broken.returncode == 2
    text = (missing.stderr + broken.stderr).replace(str(tmp_path), "<TMP>")
    assert text == snapshot(extension_class=TextSnapshot, name="named_profile_errors")
