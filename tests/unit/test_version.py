"""``loginkit --version`` / ``-V``: the installed package's version, from its metadata, printed as
``loginkit X.Y.Z`` on stdout; ``--version`` alone is answered before argparse loads."""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from support.cli_runner import run_loginkit
from syrupy.assertion import SnapshotAssertion

import loginkit

from .snapshot_ext import TextSnapshot

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def project_version() -> str:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    found: str = data["project"]["version"]
    return found


def test_the_version_is_the_installed_one_which_is_pyproject_s() -> None:
    assert loginkit.__version__ == version("loginkit") == project_version()


def test_version_flags_print_the_version(snapshot: SnapshotAssertion) -> None:
    steps = {
        "loginkit --version": run_loginkit("--version"),
        "loginkit -V": run_loginkit("-V"),
        # Past the fast path: argparse answers it too (another argument follows).
        "loginkit -V token": run_loginkit("-V", "token"),
    }
    expected = f"loginkit {project_version()}\n"
    for done in steps.values():
        assert (done.returncode, done.stdout, done.stderr) == (0, expected, "")
    text = "\n".join(
        f"$ {title}\nexit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
        for title, done in steps.items()
    ).replace(project_version(), "<VERSION>")
    assert text == snapshot(extension_class=TextSnapshot, name="version")


def test_version_alone_loads_neither_argparse_nor_the_cli() -> None:
    done = run_loginkit(
        "--version",
        program=[
            sys.executable,
            "-c",
            "import sys; from loginkit.cli._entry import main; code = main(sys.argv[1:]);"
            " print(sorted(m for m in sys.modules if m == 'argparse' or m.startswith("
            "'loginkit.cli._main') or m.startswith('loginkit.store')), file=sys.stderr);"
            " sys.exit(code)",
        ],
    )
    assert done.returncode == 0
    assert done.stdout == f"loginkit {project_version()}\n"
    assert done.stderr == "[]\n"


def test_help_lists_the_version_flag() -> None:
    done = run_loginkit("--help", env={"COLUMNS": "100"})
    assert done.returncode == 0
    assert "-V, --version  print the version of loginkit and exit" in done.stdout
