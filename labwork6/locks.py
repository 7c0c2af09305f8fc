"""One writer per folder: a lock file held with ``fcntl.flock`` while a run, an evaluation, the
report or a baseline writes its folder.

The kernel releases a ``flock`` when its process ends, however it ends, so a lock left by a
killed process on this machine is free at once and nothing has to guess whether its owner
lives. The file also records the owner (pid, host, start) for the messages, and its
modification time is a heartbeat, refreshed every :data:`HEARTBEAT_SECONDS` while held: on a
folder shared between machines (a network or cloud drive that does not pass locks between
hosts), a record of another host whose heartbeat is older than :data:`STALE_AFTER_SECONDS` is
taken over, and a younger one is refused with the command that removes it. Where the file
system has no ``flock`` at all, the record alone decides, as it does for other hosts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the record alone decides
    fcntl = None

LOCK_NAME = ".lock"
HEARTBEAT_SECONDS = 60
#: Another host's lock without a heartbeat for this long is taken over (its machine is gone).
STALE_AFTER_SECONDS = 15 * 60
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class RunFolderInUse(FileExistsError):
    """Another live process is writing this folder."""


def _owner(path: Path) -> dict:
    try:
        owner = json.loads(path.read_text() or "{}")
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return {}
    return {**owner, "age": age} if isinstance(owner, dict) else {}


def _alive_here(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _in_use(folder: Path, path: Path, owner: dict, reason: str) -> RunFolderInUse:
    who = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
    return RunFolderInUse(f"The folder {folder} is being written by another process ({who}{reason}). Wait for it "
                          f"to finish or stop it. Lock file: {path}")


def _refuse_young_foreign(folder: Path, path: Path, owner: dict) -> None:
    """Refuse another host's lock that showed life less than STALE_AFTER_SECONDS ago."""
    if owner.get("host") in (None, socket.gethostname()) or owner["age"] >= STALE_AFTER_SECONDS:
        return
    minutes = owner["age"] / 60
    raise _in_use(folder, path, owner, f", last sign of life {minutes:.0f} min ago; if that machine's run is "
                  f"gone, the lock is taken over once it is {STALE_AFTER_SECONDS // 60} min old, or remove it "
                  f"now with: rm {str(path)!r}")


def _acquire(folder: Path, path: Path) -> int:
    """An open descriptor of ``path`` holding its flock (or, without flock, its record)."""
    for _ in range(10):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise _in_use(folder, path, _owner(path), "") from None
        except OSError as error:
            if error.errno not in _NO_FLOCK:
                os.close(descriptor)
                raise
            owner = _owner(path)  # no flock here: a live owner of this host keeps it
            if owner.get("host") == socket.gethostname() and owner.get("pid") != os.getpid() \
                    and _alive_here(owner.get("pid")):
                os.close(descriptor)
                raise _in_use(folder, path, owner, "") from None
        # The previous holder unlinks the file on release: the lock is ours only on the current file.
        try:
            if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
                return descriptor
        except FileNotFoundError:
            pass
        os.close(descriptor)
    raise RunFolderInUse(f"Could not lock {folder}: {path} keeps being replaced.")


@contextlib.contextmanager
def folder_lock(folder):
    """Hold ``<folder>/.lock`` inside the block (the folder is created); yield its path.

    A second process on the same folder gets :class:`RunFolderInUse` naming the owner at once.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    descriptor = _acquire(folder, path)
    try:
        owner = _owner(path)
        _refuse_young_foreign(folder, path, owner)
        if owner.get("host") not in (None, socket.gethostname()):
            print(f"[labwork6] taking over the lock of {folder} left by pid {owner.get('pid', '?')} on "
                  f"{owner['host']} ({owner['age'] / 60:.0f} min without a sign of life).", flush=True)
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode()
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, record, 0)
        os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(descriptor, stop), daemon=True, name="labwork6-lock")
    beat.start()
    try:
        yield path
    finally:
        stop.set()
        beat.join()
        with contextlib.suppress(OSError):
            path.unlink()  # while still held: a waiting process retries on the new file
        os.close(descriptor)


def _heartbeat(descriptor: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        with contextlib.suppress(OSError):
            os.utime(descriptor)
