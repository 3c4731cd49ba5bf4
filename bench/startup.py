"""How fast the sign-in link is on screen, against bare ``python -c pass`` in the same run.

Builds the wheel, installs it with compiled bytecode into a fresh venv (an editable checkout or
PYTHONDONTWRITEBYTECODE would measure recompilation, not loginkit), then times, N rounds each:

- ``python -c pass`` (the floor),
- ``python -c "import httpx2"`` (what importing the HTTP stack alone costs),
- ``loginkit login --port 0 --no-browser``: exec until the line with the URL is read on stderr
  (the link-first path), and the same through the full CLI,
- ``loginkit token`` with a stored, still valid access token (the scripting hot path).

Prints medians and ratios to the floor. Usage: ``uv run python bench/startup.py [rounds]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sh(*cmd: str, **kw: object) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def time_exit(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_link(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("http"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError("no link printed")
    proc.terminate()
    proc.wait()
    return elapsed


def write_valid_auth(home: Path) -> None:
    import base64
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    access = ".".join(
        [b64(b"{}"), b64(json.dumps({"exp": int(time.time()) + 86400}).encode()), b64(b"s")]
    )
    auth = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": access,
            "access_token": access,
            "refresh_token": "r",
            "account_id": None,
        },
        "last_refresh": "2026-01-01T00:00:00Z",
    }
    (home / "auth.json").write_text(json.dumps(auth))


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as tmp:
        dist, venv, home = Path(tmp, "dist"), Path(tmp, "venv"), Path(tmp, "home")
        home.mkdir()
        sh("uv", "build", "--wheel", "--out-dir", str(dist), cwd=REPO, stderr=subprocess.DEVNULL)
        sh("uv", "venv", "--quiet", str(venv), stderr=subprocess.DEVNULL)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["UV_COMPILE_BYTECODE"] = "1"
        wheel = next(dist.glob("*.whl"))
        sh(
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            str(wheel),
            env=env,
        )
        python = str(venv / "bin" / "python")
        run_env = {**env, "CODEX_HOME": str(home)}
        token_home = Path(tmp, "token-home")
        token_home.mkdir()
        write_valid_auth(token_home)
        login = [str(venv / "bin" / "loginkit"), "login", "--port", "0", "--no-browser"]
        cases: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: time_exit([python, "-c", "pass"], run_env),
            "python -c 'import httpx2'": lambda: time_exit(
                [python, "-c", "import httpx2"], run_env
            ),
            "loginkit login: link on stderr": lambda: time_link([*login], run_env),
            # The same link through the full CLI (argparse and the flow loaded first): any flag
            # outside the link-first set sends a sign-in there; --bind with its default value
            # changes nothing else.
            "  ... through the full CLI": lambda: time_link(
                [*login, "--bind", "127.0.0.1"], run_env
            ),
            "loginkit token (valid, stored)": lambda: time_exit(
                [str(venv / "bin" / "loginkit"), "token", "--codex-home", str(token_home)], run_env
            ),
        }
        for measure in cases.values():  # warm the page cache
            measure()
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):  # interleaved, so machine noise hits every case alike
            for name, measure in cases.items():
                samples[name].append(measure())
    floor = statistics.median(samples["python -c pass"])
    print(f"startup, {rounds} interleaved rounds, medians (ratio to python -c pass):")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:34s} {median * 1000:7.1f} ms  x{median / floor:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
