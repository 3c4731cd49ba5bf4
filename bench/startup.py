"""Start-up side by side: loginkit, the real Codex CLI 0.169.0 and ``python -c pass``, one table.

One command: ``uv run python bench/startup.py [rounds]`` (default 15). It builds the wheel and
installs it with compiled bytecode into a fresh venv (an editable checkout, or
PYTHONDONTWRITEBYTECODE, would measure recompilation, not loginkit), writes equivalent
credentials for both programs (separate homes, same ``auth.json``), then runs every case once per
round, interleaved, so machine noise hits each alike, and prints medians and ratios:

- link: exec until the sign-in URL is read on stderr (``loginkit login --no-browser``, port 0;
  ``codex login``, its fixed port 1455, measured only while that port is free), and the same
  link through loginkit's full CLI;
- ``login status`` with an API key and with ChatGPT tokens (the file store);
- ``loginkit token`` with a cached, valid token (Codex has no such command);
- takeover: a second login on a port a first one holds (serving, waiting for its browser),
  until the second one's link;
- the generic profile's link (one discovery request to a local issuer first, a provider signed
  in to before: its home exists; and a first sign-in, which makes it), link-first and through
  the full CLI, over plain http on loopback and over https (a test CA trusted through
  ``SSL_CERT_DIR``, so TLS is verified for real: the ``ssl`` import and the system roots are
  in the figure).

The Codex binary is the one ``./dev setup`` installs under tests/codex; without it the Codex
column is empty. Nothing is ever started on port 1455 while something else listens there (a
test of another engineer), so no one's sign-in is cancelled by the benchmark.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import platform
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODEX = (
    REPO
    / "tests/codex/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
)
CODEX_PORT = 1455
Measure = Callable[[], float | None]


def sh(*cmd: str, **kw: object) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def time_exit(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def start_until_link(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    """Start ``cmd`` (own session) and read stderr until the link: the process, the seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("http"):
            return proc, time.perf_counter() - start
    stop(proc)
    raise RuntimeError(f"no link printed by {cmd}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()


def time_link(cmd: list[str], env: dict[str, str]) -> float:
    proc, elapsed = start_until_link(cmd, env)
    stop(proc)
    return elapsed


def wait_until_serving(port: int, deadline: float = 5.0) -> None:
    """Until the login on ``port`` answers HTTP (a link on screen is not yet a server that
    answers: loginkit's link-first start loads its server after printing the link)."""
    import socket

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(
                    f"GET /bench-probe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
                )
                if conn.recv(16).startswith(b"HTTP/"):
                    return
        except OSError:
            pass
        time.sleep(0.01)


def time_takeover(cmd: list[str], env: dict[str, str], port: int) -> float:
    """A first login holds the port and waits for its browser (it answers HTTP); the seconds
    until a second one's link."""
    first, _ = start_until_link(cmd, env)
    wait_until_serving(port)
    try:
        second, elapsed = start_until_link(cmd, env)
        stop(second)
    finally:
        stop(first)
    return elapsed


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_codex_port(measure: Callable[[], float]) -> Measure:
    """``measure``, only while nothing listens on 1455 (else this round has no sample)."""

    def guarded() -> float | None:
        for _ in range(50):
            if port_is_free(CODEX_PORT):
                return measure()
            time.sleep(0.1)
        return None

    return guarded


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, object]) -> str:
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}.{b64(b'signature')}"


def write_home(home: Path, auth: dict[str, object]) -> Path:
    home.mkdir(mode=0o700, parents=True)
    path = home / "auth.json"
    path.write_text(json.dumps(auth, indent=2))
    path.chmod(0o600)
    return home


def chatgpt_auth() -> dict[str, object]:
    exp = int(time.time()) + 86400
    id_token = jwt(
        {
            "email": "alice@example.com",
            "exp": exp,
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "plus",
                "chatgpt_account_id": "org-alice",
                "chatgpt_user_id": "user-alice",
            },
        }
    )
    return {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": id_token,
            "access_token": jwt({"exp": exp}),
            "refresh_token": "rt",
            "account_id": "org-alice",
        },
        "last_refresh": "2026-01-01T00:00:00Z",
    }


API_KEY_AUTH: dict[str, object] = {
    "auth_mode": "apikey",
    "OPENAI_API_KEY": "sk-proj-1234567890ABCDE",
}


def discovery_issuer(tls: ssl.SSLContext | None = None) -> str:
    """A local issuer that answers its discovery document (the generic profile's one request),
    over https with ``tls`` (a server context)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    issuer = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    document = json.dumps(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return issuer


def https_discovery_issuer(tmp: Path) -> tuple[str, str]:
    """An https issuer whose certificate comes from a test CA, and an ``SSL_CERT_DIR`` that
    trusts it beside the system roots (OpenSSL's default paths, which both the light GET and
    the HTTP client load; no custom bundle, which would send the light GET to the full CLI)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    certs = tmp / "certs"
    certs.mkdir()
    ca.cert_pem.write_to_path(str(certs / "bench-ca.pem"))
    sh("openssl", "rehash", str(certs))
    return discovery_issuer(context), str(certs)


def install(tmp: Path) -> tuple[Path, dict[str, str]]:
    """The wheel in a fresh venv with bytecode: its bin directory and the run environment."""
    dist, venv = tmp / "dist", tmp / "venv"
    sh("uv", "build", "--wheel", "--out-dir", str(dist), cwd=REPO, stderr=subprocess.DEVNULL)
    sh("uv", "venv", "--quiet", str(venv), stderr=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "BROWSER")}
    env["UV_COMPILE_BYTECODE"] = "1"
    wheel = next(dist.glob("*.whl"))
    sh("uv", "pip", "install", "--quiet", "--python", str(venv / "bin/python"), str(wheel), env=env)
    for name in (
        "CODEX_HOME",
        "OPENAI_API_KEY",
        "CODEX_API_KEY",
        "RUST_LOG",
        "UV_COMPILE_BYTECODE",
    ):
        env.pop(name, None)
    env["BROWSER"] = "true"  # Codex opens its link; `true` returns at once
    # A generic provider's home lives under XDG_CONFIG_HOME: the benchmark's own, never the
    # person's.
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    return venv / "bin", env


def cases(tmp: Path, bin_dir: Path, env: dict[str, str]) -> dict[str, dict[str, Measure]]:
    """figure -> {"loginkit" | "codex" | "python": measure}."""
    python, loginkit, codex = str(bin_dir / "python"), str(bin_dir / "loginkit"), str(CODEX)
    homes: dict[tuple[str, str], Path] = {}
    for who in ("loginkit", "codex"):
        homes[who, "apikey"] = write_home(tmp / f"{who}-apikey", API_KEY_AUTH)
        homes[who, "chatgpt"] = write_home(tmp / f"{who}-chatgpt", chatgpt_auth())
        homes[who, "empty"] = tmp / f"{who}-empty"
        homes[who, "empty"].mkdir(mode=0o700)

    def in_home(who: str, kind: str) -> dict[str, str]:
        return {**env, "CODEX_HOME": str(homes[who, kind])}

    link = [loginkit, "login", "--no-browser", "--port", "0"]
    port = free_port()
    issuer = discovery_issuer()
    # Signing in again to a provider used before (its home exists; a first sign-in creates it
    # through the full CLI).
    from loginkit.store._home import make_home, provider_home

    make_home(provider_home(issuer, "generic-cli", env))
    tls_issuer, cert_dir = https_discovery_issuer(tmp)
    tls_env = {**env, "SSL_CERT_DIR": cert_dir}
    make_home(provider_home(tls_issuer, "generic-cli", tls_env))
    fresh = itertools.count()

    def first_sign_in() -> dict[str, str]:
        """An environment whose XDG_CONFIG_HOME has no provider home yet."""
        return {**env, "XDG_CONFIG_HOME": str(tmp / f"first-{next(fresh)}")}

    have_codex = os.access(CODEX, os.X_OK)
    table: dict[str, dict[str, Measure]] = {
        "python -c pass": {"python": lambda: time_exit([python, "-c", "pass"], env)},
        "link on stderr": {
            "loginkit": lambda: time_link(link, in_home("loginkit", "empty")),
            "codex": on_codex_port(lambda: time_link([codex, "login"], in_home("codex", "empty"))),
        },
        # Any flag outside the link-first set sends a sign-in through argparse and the flow
        # first; --bind with its default value changes nothing else.
        "  ... through the full CLI": {
            "loginkit": lambda: time_link(
                [*link, "--bind", "127.0.0.1"], in_home("loginkit", "empty")
            ),
        },
        "login status, API key": {
            "loginkit": lambda: time_exit(
                [loginkit, "login", "status"], in_home("loginkit", "apikey")
            ),
            "codex": lambda: time_exit([codex, "login", "status"], in_home("codex", "apikey")),
        },
        "login status, ChatGPT tokens": {
            "loginkit": lambda: time_exit(
                [loginkit, "login", "status"], in_home("loginkit", "chatgpt")
            ),
            "codex": lambda: time_exit([codex, "login", "status"], in_home("codex", "chatgpt")),
        },
        "token (cached, valid)": {
            "loginkit": lambda: time_exit([loginkit, "token"], in_home("loginkit", "chatgpt")),
        },
        "takeover: 2nd login to its link": {
            "loginkit": lambda: time_takeover(
                [loginkit, "login", "--no-browser", "--port", str(port)],
                in_home("loginkit", "empty"),
                port,
            ),
            "codex": on_codex_port(
                lambda: time_takeover([codex, "login"], in_home("codex", "empty"), CODEX_PORT)
            ),
        },
        "generic profile: discovery + link": {
            "loginkit": lambda: time_link(
                [*link, "--issuer", issuer, "--client-id", "generic-cli"], env
            ),
        },
        "  ... generic, through the full CLI": {
            "loginkit": lambda: time_link(
                [*link, "--issuer", issuer, "--client-id", "generic-cli", "--bind", "127.0.0.1"],
                env,
            ),
        },
        "generic profile, first sign-in": {
            "loginkit": lambda: time_link(
                [*link, "--issuer", issuer, "--client-id", "generic-cli"], first_sign_in()
            ),
        },
        "generic profile over https": {
            "loginkit": lambda: time_link(
                [*link, "--issuer", tls_issuer, "--client-id", "generic-cli"], tls_env
            ),
        },
        "  ... https, through the full CLI": {
            "loginkit": lambda: time_link(
                [
                    *link,
                    "--issuer",
                    tls_issuer,
                    "--client-id",
                    "generic-cli",
                    "--bind",
                    "127.0.0.1",
                ],
                tls_env,
            ),
        },
    }
    if not have_codex:
        for row in table.values():
            row.pop("codex", None)
    return table


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        bin_dir, env = install(tmp)
        table = cases(tmp, bin_dir, env)
        samples: dict[tuple[str, str], list[float]] = {
            (row, who): [] for row, measures in table.items() for who in measures
        }
        for measures in table.values():  # warm the page cache
            for measure in measures.values():
                measure()
        for _ in range(rounds):  # interleaved: noise hits every case alike
            for row, measures in table.items():
                for who, measure in measures.items():
                    value = measure()
                    if value is not None:
                        samples[row, who].append(value)
    medians = {key: statistics.median(values) for key, values in samples.items() if values}
    floor = medians["python -c pass", "python"]
    print(
        f"loginkit start-up, {rounds} interleaved rounds, medians; {time.strftime('%Y-%m-%d')},"
        f" {os.cpu_count()} cores, {platform.system()} {platform.release()},"
        f" Python {platform.python_version()}, codex-cli 0.169.0"
    )
    print()
    print(
        "| figure | loginkit | Codex CLI | python -c pass | loginkit / Codex | loginkit / python |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in table:
        ours = medians.get((row, "loginkit"))
        theirs = medians.get((row, "codex"))
        base = medians.get((row, "python"))

        def ms(value: float | None) -> str:
            return f"{value * 1000:.1f} ms" if value is not None else "-"

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.2f}x" if a is not None and b is not None else "-"

        print(
            f"| {row.strip()} | {ms(ours)} | {ms(theirs)} | {ms(base if base else floor)} |"
            f" {ratio(ours, theirs)} | {ratio(ours, floor)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
