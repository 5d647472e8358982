"""File helpers shared by the writers of a run's outputs."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType

from paperdigest.errors import PaperdigestError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

# Mode for a file that did not exist before. A replaced file keeps its own mode.
NEW_FILE_MODE = 0o644


def write_atomic(path: Path, text: str) -> None:
    """Write `text` as UTF-8 to `path` so readers see either the old file or the whole new one.

    The text goes to a temporary file in the same folder, is flushed and fsynced, and then
    renamed over `path` with os.replace. The temporary file is removed on any error, and
    the OSError is re-raised. The parent folder must exist.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _mode_to_keep(path)

    handle = tempfile.NamedTemporaryFile(
        mode="w",
        encoding="utf-8",
        newline="\n",
        dir=folder,
        prefix=f".{path.name}.",
        suffix=".tmp",
        delete=False,
    )
    temp_path = Path(handle.name)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, mode)
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise

    _fsync_folder(folder)
    logger.debug("wrote %s (%d characters)", path, len(text))


def _mode_to_keep(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return NEW_FILE_MODE


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself. Only POSIX systems can open a folder for fsync."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


LOCK_FILE_NAME = ".paperdigest.lock"

# Windows locks a byte range. The lock covers one byte far past the pid text, so other
# processes can still read the pid at offset 0.
_WINDOWS_LOCK_OFFSET = 1 << 20

# Largest pid text read back from a lock file.
_MAX_PID_BYTES = 32


class LockedError(PaperdigestError):
    """Another run holds the lock on the output folder."""


class FolderLock:
    """Exclusive lock on an output folder, so that two runs that both take it cannot write there at once.

    On POSIX the lock is flock(2) on a lock file in the folder. The kernel drops it when the
    holding process exits, even after a crash, so a lock file left behind is harmless and is
    reused. The file contains the pid of the holder, and is emptied on release. The folder
    is created if missing. OSError from creating the folder or the file is re-raised.
    """

    def __init__(self, folder: Path, name: str = LOCK_FILE_NAME):
        self.folder = Path(folder)
        self.path = self.folder / name
        self._descriptor: int | None = None

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None

    def acquire(self) -> None:
        """Take the lock without waiting, or raise LockedError if another holder has it.

        Two FolderLock objects in the same process also exclude each other.
        """
        if self._descriptor is not None:
            raise RuntimeError(f"{self.path} is already locked by this FolderLock object")

        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, NEW_FILE_MODE)
        try:
            acquired = _try_lock(descriptor, self.path)
            if not acquired:
                raise LockedError(self._locked_message(_read_pid(descriptor)))
            _write_pid(descriptor)
        except BaseException:
            os.close(descriptor)
            raise

        self._descriptor = descriptor
        logger.debug("locked %s", self.path)

    def release(self) -> None:
        """Empty the lock file and drop the lock. Releasing a lock that is not held does nothing."""
        descriptor = self._descriptor
        if descriptor is None:
            return
        self._descriptor = None
        try:
            os.ftruncate(descriptor, 0)
            _unlock(descriptor)
        finally:
            os.close(descriptor)
        logger.debug("unlocked %s", self.path)

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _locked_message(self, pid: int | None) -> str:
        holder = f"another paperdigest run (pid {pid})" if pid is not None else "another paperdigest run"
        return (
            f"output folder {self.folder} is locked: {holder} is writing there. "
            f"Wait for that run to finish. If no paperdigest run is active, delete {self.path} "
            "and try again."
        )


def _try_lock(descriptor: int, path: Path) -> bool:
    """Try to lock the open file without waiting. Return False if another holder has it."""
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    if msvcrt is not None:
        # NOTE: this Windows branch has not been run by the tests, which cover POSIX only.
        os.lseek(descriptor, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLOCK):
                return False
            raise
        return True

    logger.warning(
        "cannot lock %s because this platform has neither fcntl nor msvcrt. "
        "Two runs writing to the same folder at once may overwrite each other's files.",
        path,
    )
    return True


def _unlock(descriptor: int) -> None:
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
    elif msvcrt is not None:
        os.lseek(descriptor, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)


def _write_pid(descriptor: int) -> None:
    os.ftruncate(descriptor, 0)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))


def _read_pid(descriptor: int) -> int | None:
    """Return the pid written in the lock file, or None if it is missing or unreadable."""
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)
        text = os.read(descriptor, _MAX_PID_BYTES).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.strip()
    if not text.isdigit():
        return None
    return int(text)
