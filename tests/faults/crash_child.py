"""Die by SIGKILL at a chosen point of a credentials write (run in a child process only).

``install(point)`` wraps the few OS calls ``loginkit.store._authfile.write_atomic`` makes so that the
process kills itself (``os.kill(getpid(), SIGKILL)``: no cleanup, no ``finally``, no flush) at:

- ``temp_created``: right after the temporary file exists, empty;
- ``mid_write``: after half of the new bytes reached the temporary file;
- ``before_file_fsync``: everything written, nothing synced;
- ``before_rename``: the temporary file is complete and synced, ``auth.json`` is still the old one;
- ``after_rename``: ``auth.json`` is the new file, the directory is not synced yet;
- ``after_dir_fsync``: the write is complete.

Run as a script to write one file: ``python crash_child.py POINT TARGET SOURCE`` copies SOURCE's
bytes to TARGET with ``write_atomic``; ``python crash_child.py loop TARGET A B`` rewrites TARGET
with A and B alternately until killed from outside.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

POINTS = (
    "temp_created",
    "mid_write",
    "before_file_fsync",
    "before_rename",
    "after_rename",
    "after_dir_fsync",
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _HalfThenDie:
    """A file whose first write stores half of the data, pushes it to the kernel, then dies."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        die()
        return 0  # pragma: no cover

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _HalfThenDie:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def install(point: str) -> None:
    """Patch os and tempfile in this process so that the next credentials write dies at ``point``."""
    if point not in POINTS:
        raise ValueError(point)
    real_mkstemp, real_fdopen = tempfile.mkstemp, os.fdopen
    real_fsync, real_replace = os.fsync, os.replace
    fsyncs = [0]

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        if point == "temp_created":
            die()
        return fd, name

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        # Only the binary write of the temporary file (the login log is opened with "a").
        return _HalfThenDie(handle) if point == "mid_write" and mode == "wb" else handle

    def fsync(fd: int) -> None:
        fsyncs[0] += 1
        if point == "before_file_fsync" and fsyncs[0] == 1:
            die()
        real_fsync(fd)
        if point == "after_dir_fsync" and fsyncs[0] == 2:
            die()

    def replace(src: Any, dst: Any) -> None:
        if point == "before_rename" and str(dst).endswith("auth.json"):
            die()
        real_replace(src, dst)
        if point == "after_rename" and str(dst).endswith("auth.json"):
            die()

    tempfile.mkstemp = mkstemp  # type: ignore[assignment]
    setattr(os, "fdopen", fdopen)  # noqa: B010 - typeshed's signatures are stricter than needed
    setattr(os, "fsync", fsync)  # noqa: B010
    setattr(os, "replace", replace)  # noqa: B010


def main(argv: list[str]) -> int:
    from loginkit.store._authfile import write_atomic

    if argv[0] == "loop":
        target, contents = Path(argv[1]), [Path(argv[2]).read_bytes(), Path(argv[3]).read_bytes()]
        print("ready", flush=True)
        for i in range(1_000_000):  # until killed
            write_atomic(target, contents[i % 2])
        return 0
    point, target, source = argv[0], Path(argv[1]), Path(argv[2])
    install(point)
    write_atomic(target, source.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
