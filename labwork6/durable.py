"""Files written whole or not at all, and the fault points where the crash tests stop a run.

Every file of a run folder is written to a temporary file in the same folder, flushed,
fsynced and renamed over its name (a rename within a folder is atomic), then the folder is
fsynced so the rename itself survives a power cut: a reader, or a run resumed after a kill at
any instant, sees the old file or the new one, never a part. Temporaries are named
``.<base>.partial-<token>.<ext>`` (:data:`PARTIAL_GLOB`), so that only this project's
leftovers are ever removed (:func:`remove_partials`).

Fault points: each write, rename and removal calls :func:`fault_point` first or after. The
environment variable ``LABWORK6_FAULT=<pattern>:<n>`` kills the process (SIGKILL, no
clean-up) at the ``n``-th point whose ``"<kind> <path>"`` matches the shell pattern; tests
set an in-process hook with :func:`fault_hook` instead. Kinds: ``written`` (a temporary is
complete, not yet renamed: its path is given), ``renamed`` (the new file has its name),
``removing`` (a file or folder of the run is about to be deleted), ``saved`` (a library wrote
a file in place inside a temporary folder: its path is given).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import secrets
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

FAULT_ENV = "LABWORK6_FAULT"
PARTIAL_GLOB = ".*.partial-*"
KINDS = ("written", "renamed", "removing", "saved")

_hook: Callable[[str, Path], None] | None = None
_matches = 0


@contextlib.contextmanager
def fault_hook(hook: Callable[[str, Path], None]):
    """Call ``hook(kind, path)`` at every fault point inside the block (tests: snapshot the run
    folder as a kill at that instant would leave it, or raise to abort)."""
    global _hook
    previous, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = previous


def fault_point(kind: str, path) -> None:
    """A place where a kill must leave the run folder usable; see the module docstring."""
    global _matches
    if _hook is not None:
        _hook(kind, Path(path))
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    pattern, _, count = spec.rpartition(":")
    if not pattern or not count.isdigit():
        raise ValueError(f"{FAULT_ENV} must be PATTERN:N, e.g. 'renamed */config.json:2'. Received: {spec!r}")
    if fnmatch.fnmatch(f"{kind} {path}", pattern):
        _matches += 1
        if _matches == int(count):
            os.kill(os.getpid(), signal.SIGKILL)


def partial_path(path) -> Path:
    """A fresh temporary name next to ``path`` that keeps its extensions (Keras checks them):
    ``model.keras`` -> ``.model.partial-1a2b3c4d.keras``."""
    path = Path(path)
    base, dot, extensions = path.name.partition(".")
    return path.with_name(f".{base}.partial-{secrets.token_hex(4)}{dot}{extensions}")


def fsync_path(path) -> None:
    """Flush a file's or a folder's entries to disk (a no-op where the OS cannot)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems (and Windows folders) do not fsync folders
        pass
    finally:
        os.close(descriptor)


def commit(partial, path) -> Path:
    """Rename the finished temporary ``partial`` (a file or a folder, already fsynced) to
    ``path`` and fsync the folder; a folder replaces an older one of the same name."""
    partial, path = Path(partial), Path(path)
    fault_point("written", partial)
    if partial.is_dir() and path.is_dir():
        remove(path)
    if path.exists() and os.path.samefile(partial, path):
        # Two hard links of one file (a restored backup's model): POSIX rename() then does nothing
        # and the temporary name would stay; ``path`` already has the content.
        partial.unlink()
    else:
        os.replace(partial, path)
    fault_point("renamed", path)
    fsync_path(path.parent)
    return path


def write_with(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary)`` to write the whole file, then fsync and rename it to ``path``.
    For writers that take a file name (Keras' ``save``, ``DataFrame.to_csv``)."""
    path = Path(path)
    partial = partial_path(path)
    try:
        write(partial)
        fsync_path(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return commit(partial, path)


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all."""
    def write(partial: Path) -> None:
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    return write_with(path, write)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    return write_bytes(path, text.encode("utf8"))


def write_csv(frame, path, **options) -> Path:
    """``frame.to_csv(path, **options)``, whole or not at all."""
    return write_text(path, frame.to_csv(**options))


def copy_file(source, path) -> Path:
    """Make ``path`` a copy of ``source`` whole or not at all: a hard link where the file system
    has them (no bytes copied; the source is never written again, only replaced), else a copy."""
    def write(partial: Path) -> None:
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)

    return write_with(path, write)


def remove(path) -> None:
    """Delete a file or a folder of this project (fault point first)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    fault_point("removing", path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    fsync_path(path.parent)


def remove_partials(folder) -> list[Path]:
    """Delete the temporaries that a killed writer left in ``folder`` (only names of
    :data:`PARTIAL_GLOB`: this project's); return them."""
    found = sorted(Path(folder).glob(PARTIAL_GLOB))
    for path in found:
        remove(path)
    return found
