"""auth.json and the credential stores: loginkit.store._authfile."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from loginkit.core._exceptions import CodexHomeError, CredentialStoreError
from loginkit.store._authfile import (
    AuthDotJson,
    EphemeralStore,
    FileStore,
    TokenData,
    find_codex_home,
    write_atomic,
)


def test_auth_json_round_trip_and_layout(tmp_path: Path) -> None:
    auth = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=None,
        tokens=TokenData("id", "access-secret", "refresh-secret", None),
        last_refresh="2026-03-19T02:40:42.123456Z",
    )
    store = FileStore(tmp_path)
    store.save(auth)
    text = (tmp_path / "auth.json").read_text()
    assert text == (
        '{\n  "auth_mode": "chatgpt",\n  "OPENAI_API_KEY": null,\n  "tokens": {\n    "id_token": "id",\n'
        '    "access_token": "access-secret",\n    "refresh_token": "refresh-secret",\n    "account_id": null\n  },\n'
        '  "last_refresh": "2026-03-19T02:40:42.123456Z"\n}'
    )
    assert stat.S_IMODE((tmp_path / "auth.json").stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.to_json() == text
    assert "access-secret" not in repr(loaded) and "refresh-secret" not in repr(loaded)
    assert store.delete() and not store.delete()
    assert store.load() is None


def test_api_key_file_and_legacy_modes(tmp_path: Path) -> None:
    assert (
        AuthDotJson(auth_mode="apikey", openai_api_key="sk-1").to_json()
        == '{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-1"\n}'
    )
    assert AuthDotJson.from_json('{"OPENAI_API_KEY": "sk"}').resolved_mode == "apikey"
    assert AuthDotJson.from_json('{"OPENAI_API_KEY": null}').resolved_mode == "chatgpt"
    with pytest.raises(CredentialStoreError, match=r"API key auth is missing a key\."):
        AuthDotJson.from_json('{"auth_mode": "apikey", "OPENAI_API_KEY": null}')
    with pytest.raises(CredentialStoreError):
        AuthDotJson.from_json("{not json")
    unknown = AuthDotJson.from_json('{"OPENAI_API_KEY": null, "future_field": 1}')
    assert '"future_field": 1' in unknown.to_json(), "fields Codex adds later survive a rewrite"


def test_atomic_write_leaves_no_temp_files_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "auth.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["auth.json"]
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_ephemeral_store_is_per_home(tmp_path: Path) -> None:
    a, b = EphemeralStore(tmp_path / "a"), EphemeralStore(tmp_path / "b")
    a.save(AuthDotJson(auth_mode="apikey", openai_api_key="k"))
    assert a.load() is not None and b.load() is None
    assert a.delete() and a.load() is None


def test_codex_home_rules(tmp_path: Path) -> None:
    assert find_codex_home({"CODEX_HOME": str(tmp_path)}) == tmp_path.resolve()
    assert find_codex_home({"CODEX_HOME": ""}) == Path.home() / ".codex"
    with pytest.raises(CodexHomeError, match="does not exist"):
        find_codex_home({"CODEX_HOME": str(tmp_path / "missing")})
    (tmp_path / "file").write_text("x")
    with pytest.raises(CodexHomeError, match="not a directory"):
        find_codex_home({"CODEX_HOME": str(tmp_path / "file")})
