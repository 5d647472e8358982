"""File helpers shared by the writers of a run's outputs."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

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
