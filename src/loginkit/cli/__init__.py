"""The ``loginkit`` command: the fast paths (a cached token, the sign-in link before anything
heavy loads), the parser and dispatch, and one renderer for human and JSON output.

Importing this package loads nothing but this docstring; :func:`main` is the console script.
"""


def main(argv: list[str] | None = None) -> int:
    """Run ``loginkit`` with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    from loginkit.cli._entry import main as entry_main

    return entry_main(argv)
