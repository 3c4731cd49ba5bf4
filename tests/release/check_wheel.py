"""A release you can install: build the sdist and the wheel, install the wheel into a fresh venv,
and run loginkit from there. ``./dev test`` runs it before pytest; any problem fails the run.

    uv run --frozen python tests/release/check_wheel.py [--keep DIR]

Checks, in order:

- ``uv build`` makes both (the wheel is built from the sdist, so the sdist is complete enough to
  build from); the sdist holds the sources, ``py.typed``, the page assets, README and CHANGELOG,
  and none of node_modules or the caches;
- the wheel holds ``loginkit/py.typed`` and every page asset of ``src/loginkit/core/assets``,
  no tests, and metadata with the version, ``Requires-Python``, ``Typing :: Typed`` and the
  ``httpx`` / ``requests`` extras;
- in a fresh venv with only the wheel and its locked runtime dependencies (never the source tree:
  the commands run from a temporary directory), ``loginkit --version`` prints ``loginkit
  <version>``, ``loginkit --help`` and ``python -m loginkit --help`` print the usage, the installed
  package is the one imported, and ``loginkit.auth`` imports without httpx or requests while
  ``HttpxAuth`` names the extra to install.

Stdlib only (it runs before anything else is trusted).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "src" / "loginkit" / "core" / "assets"


class Problems:
    """Collects what is wrong; the run fails at the end with all of them listed."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.found.append(what)


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version: str = data["project"]["version"]
    return version


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``command``; its stdout, or SystemExit with everything it said when it fails."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"check_wheel: {' '.join(command)} exited {done.returncode}\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def build(out: Path) -> tuple[Path, Path]:
    print(f"uv build -> {out}", flush=True)
    run(["uv", "build", "--quiet", "--out-dir", str(out)], cwd=ROOT)
    [sdist] = sorted(out.glob("loginkit-*.tar.gz"))
    [wheel] = sorted(out.glob("loginkit-*.whl"))
    return sdist, wheel


def check_sdist(sdist: Path, version: str, problems: Problems) -> None:
    print(f"sdist {sdist.name}", flush=True)
    prefix = f"loginkit-{version}/"
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(prefix) for name in archive.getnames()}
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "src/loginkit/py.typed",
        *(f"src/loginkit/core/assets/{p.name}" for p in sorted(ASSETS.glob("*.html"))),
    ):
        problems.check(needed in names, f"sdist holds {needed}")
    junk = sorted(n for n in names if "node_modules" in n or "_cache" in n or "/.venv" in n)
    problems.check(not junk, f"sdist holds no node_modules or caches {junk[:3] or ''}")


def check_wheel(wheel: Path, version: str, problems: Problems) -> None:
    print(f"wheel {wheel.name}", flush=True)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(
            archive.read(f"loginkit-{version}.dist-info/METADATA").decode("utf-8")
        )
    assets = sorted(ASSETS.glob("*.html"))
    problems.check(bool(assets), "the source tree has page assets to ship")
    for needed in ("loginkit/py.typed", *(f"loginkit/core/assets/{p.name}" for p in assets)):
        problems.check(needed in names, f"wheel holds {needed}")
    problems.check(
        not any(n.startswith(("tests/", "bench/", "demo/")) for n in names),
        "wheel holds only the package",
    )
    problems.check(metadata["Version"] == version, f"metadata Version is {version}")
    problems.check(metadata["Requires-Python"] == ">=3.11", "metadata Requires-Python >=3.11")
    classifiers = metadata.get_all("Classifier") or []
    for classifier in ("Typing :: Typed", "Programming Language :: Python :: 3.13"):
        problems.check(classifier in classifiers, f"metadata classifier {classifier!r}")
    extras = metadata.get_all("Provides-Extra") or []
    problems.check({"httpx", "requests"} <= set(extras), "metadata extras httpx and requests")
    requires = " ".join(metadata.get_all("Requires-Dist") or [])
    problems.check(
        "extra == 'httpx'" in requires.replace('"', "'"), "httpx only through the httpx extra"
    )
    urls = metadata.get_all("Project-URL") or []
    problems.check(any(u.startswith("Issues,") for u in urls), "metadata has an Issues URL")


def check_installed(wheel: Path, version: str, work: Path, problems: Problems) -> None:
    venv = work / "venv"
    print(f"fresh venv {venv}", flush=True)
    run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=work)
    python = venv / "bin" / "python"
    locked = work / "requirements.txt"
    locked.write_text(
        run(
            [
                "uv",
                "export",
                "--frozen",
                "--quiet",
                "--no-dev",
                "--no-emit-project",
                "--format",
                "requirements-txt",
            ],
            cwd=ROOT,
        ),
        encoding="utf-8",
    )
    run(
        ["uv", "pip", "install", "--quiet", "--python", str(python), "-r", str(locked), str(wheel)],
        cwd=work,
    )
    # Only the venv: no PYTHONPATH, no CODEX_HOME, nothing of the source tree on the path.
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(work),
        "COLUMNS": "100",
    }
    here = work  # not the repository: `python -m loginkit` must not find ./src
    out = run([str(venv / "bin" / "loginkit"), "--version"], cwd=here, env=env)
    problems.check(out == f"loginkit {version}\n", f"loginkit --version prints loginkit {version}")
    out = run([str(venv / "bin" / "loginkit"), "-V", "token"], cwd=here, env=env)
    problems.check(out == f"loginkit {version}\n", "loginkit -V (through argparse) too")
    out = run([str(venv / "bin" / "loginkit"), "--help"], cwd=here, env=env)
    problems.check(out.startswith("usage: loginkit"), "loginkit --help prints the usage")
    out = run([str(python), "-m", "loginkit", "--help"], cwd=here, env=env)
    problems.check(out.startswith("usage: loginkit"), "python -m loginkit --help too")
    probe = (
        "import sys, loginkit, loginkit.auth\n"
        "from importlib.resources import files\n"
        "print(loginkit.__file__)\n"
        "print(loginkit.__version__)\n"
        "print(files('loginkit.core').joinpath('assets/success.html').is_file())\n"
        "print(sorted({'httpx', 'requests'} & {m.split('.')[0] for m in sys.modules}))\n"
        "try:\n"
        "    from loginkit.auth import HttpxAuth\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    lines = run([str(python), "-c", probe], cwd=here, env=env).splitlines()
    problems.check(
        len(lines) == 5 and lines[0].startswith(str(venv)), "the venv's loginkit is imported"
    )
    problems.check(lines[1:2] == [version], "loginkit.__version__ is the wheel's version")
    problems.check(lines[2:3] == ["True"], "the page assets load as package resources")
    problems.check(lines[3:4] == ["[]"], "loginkit.auth imports without httpx or requests")
    problems.check(
        lines[4:5]
        == [
            "loginkit.auth.HttpxAuth needs the httpx package, which is not installed:"
            " pip install 'loginkit[httpx]'"
        ],
        "without the extra, HttpxAuth says which extra to install",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep", type=Path, help="build and install here and keep it")
    args = parser.parse_args(argv)
    version = project_version()
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="loginkit-release-") as scratch:
        work = Path(args.keep or scratch).resolve()
        work.mkdir(parents=True, exist_ok=True)
        sdist, wheel = build(work / "dist")
        check_sdist(sdist, version, problems)
        check_wheel(wheel, version, problems)
        check_installed(wheel, version, work, problems)
    if problems.found:
        print(f"check_wheel: {len(problems.found)} problem(s):", file=sys.stderr)
        for what in problems.found:
            print(f"  - {what}", file=sys.stderr)
        return 1
    print(f"check_wheel: loginkit {version} builds, installs and runs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
