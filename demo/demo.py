"""A real sign-in, end to end, on this machine: no network, no mocks.

It starts the bundled OpenID provider (oidc-provider, configured like auth.openai.com) on a loopback
port, runs ``loginkit login --no-browser`` against it exactly as a person would, and lets headless
Chromium play the person: it opens the printed link, signs in as "alice" and approves. You see the
CLI's own progress lines, then what was saved (secrets masked).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.browser import complete_login, launch_browser
from support.provider import start_provider


def mask(value: str | None) -> str:
    if not value:
        return str(value)
    return value[:6] + "…" + value[-4:] if len(value) > 13 else "***"


def main() -> int:
    print("== Starting the local test provider (oidc-provider on 127.0.0.1)…", flush=True)
    with (
        start_provider() as provider,
        launch_browser() as browser,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp) / "codex-home"
        command = [
            sys.executable, "-m", "loginkit", "login",
            "--issuer", provider.issuer, "--port", "0", "--no-browser", "--codex-home", str(home),
        ]  # fmt: skip
        print(
            f"== Running: loginkit login --issuer {provider.issuer} --port 0 --no-browser\n",
            flush=True,
        )
        proc = subprocess.Popen(
            command, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert proc.stderr is not None
        url = ""
        for line in proc.stderr:
            print(f"  | {line}", end="", flush=True)
            if line.startswith("http"):
                url = line.strip()
                break
        if not url:
            proc.wait()
            print("loginkit did not print a sign-in link", file=sys.stderr)
            return 1
        rest: list[str] = []
        reader = threading.Thread(target=lambda: rest.extend(proc.stderr or []))
        reader.start()
        print("\n== Chromium opens the link, signs in as alice and approves…", flush=True)
        result = complete_login(browser, url, login="alice")
        reader.join(timeout=30)
        code = proc.wait(timeout=30)
        for line in rest:
            print(f"  | {line}", end="")
        heading = next(
            (ln for ln in result.text.splitlines() if "Signed in" in ln), result.text[:60]
        )
        print(f"\n== Browser ended on {result.final_url.split('?')[0]}: {heading!r}")
        print(f"== loginkit exited with {code}")
        auth = json.loads((home / "auth.json").read_text())
        tokens = auth["tokens"]
        print("== auth.json (Codex layout, mode 0600), secrets masked:")
        print(f"   auth_mode      {auth['auth_mode']}")
        print(f"   OPENAI_API_KEY {mask(auth['OPENAI_API_KEY'])}")
        print(f"   account_id     {tokens['account_id']}")
        print(f"   id_token       {mask(tokens['id_token'])}")
        print(f"   refresh_token  {mask(tokens['refresh_token'])}")
        print(f"   last_refresh   {auth['last_refresh']}")
        print(f"   file mode      {oct((home / 'auth.json').stat().st_mode & 0o777)}")
        return code


if __name__ == "__main__":
    raise SystemExit(main())
