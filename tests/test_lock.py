"""Output-folder lock: exclusion within and across processes, release on exit and on kill."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from paperdigest.fsutil import LOCK_FILE_NAME, FolderLock, LockedError

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the lock tests rely on flock and POSIX signals")

REPO_ROOT = Path(__file__).resolve().parent.parent

# Holds the lock on the folder given as argv[1], prints "locked", and keeps the lock
# until its stdin closes or a line arrives.
HOLDER_SCRIPT = """
import sys
from pathlib import Path
from paperdigest.fsutil import FolderLock

with FolderLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""

# Seconds to wait for the holder process to report or to exit.
HOLDER_TIMEOUT = 20


def child_env() -> dict[str, str]:
    """Environment for a child Python that imports paperdigest from this checkout."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def start_holder(folder: Path) -> subprocess.Popen:
    """Start a process that holds the lock on `folder`, and return once it holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    ready, _, _ = select.select([process.stdout], [], [], HOLDER_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if line.strip() != "locked":
        process.kill()
        _, stderr = process.communicate(timeout=HOLDER_TIMEOUT)
        pytest.fail(f"holder process did not take the lock: {stderr}")
    return process


def stop_holder(process: subprocess.Popen) -> None:
    """Let the holder leave its with block and wait for it to exit."""
    process.communicate(input="\n", timeout=HOLDER_TIMEOUT)


def test_lock_creates_missing_folder(tmp_path):
    folder = tmp_path / "out" / "digests"
    with FolderLock(folder) as lock:
        assert folder.is_dir()
        assert lock.path == folder / LOCK_FILE_NAME


def test_lock_writes_pid(tmp_path):
    with FolderLock(tmp_path) as lock:
        text = lock.path.read_text()
    assert text.strip() == str(os.getpid())


def test_lock_empties_file_on_release(tmp_path):
    with FolderLock(tmp_path) as lock:
        pass
    assert lock.path.read_text() == ""
    assert not lock.locked


def test_lock_second_in_same_process_raises(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(LockedError):
            FolderLock(tmp_path).acquire()


def test_lock_reacquired_after_release(tmp_path):
    with FolderLock(tmp_path):
        pass
    with FolderLock(tmp_path) as lock:
        assert lock.locked


def test_lock_released_after_exception(tmp_path):
    with pytest.raises(KeyError):
        with FolderLock(tmp_path):
            raise KeyError("boom")
    with FolderLock(tmp_path) as lock:
        assert lock.locked


def test_lock_acquire_twice_same_object_raises(tmp_path):
    with FolderLock(tmp_path) as lock:
        with pytest.raises(RuntimeError, match="already locked"):
            lock.acquire()


def test_lock_release_without_acquire(tmp_path):
    FolderLock(tmp_path).release()
    assert not (tmp_path / LOCK_FILE_NAME).exists()


def test_lock_custom_name(tmp_path):
    with FolderLock(tmp_path, name="run.lock") as lock:
        assert lock.path == tmp_path / "run.lock"


def test_lock_stale_file_is_reused(tmp_path):
    (tmp_path / LOCK_FILE_NAME).write_text("999999\n")
    with FolderLock(tmp_path) as lock:
        assert lock.path.read_text().strip() == str(os.getpid())


def test_lock_other_process_raises(tmp_path):
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(LockedError) as caught:
            FolderLock(tmp_path).acquire()
    finally:
        stop_holder(holder)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert f"pid {holder.pid}" in message
    assert "another paperdigest run" in message
    assert "Wait for that run to finish" in message
    assert str(tmp_path / LOCK_FILE_NAME) in message


def test_lock_released_when_other_process_exits(tmp_path):
    holder = start_holder(tmp_path)
    stop_holder(holder)
    assert holder.returncode == 0
    with FolderLock(tmp_path) as lock:
        assert lock.locked


def test_lock_released_when_other_process_killed(tmp_path):
    holder = start_holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=HOLDER_TIMEOUT)
    with FolderLock(tmp_path) as lock:
        assert lock.locked


def test_lock_other_process_blocked_by_us(tmp_path):
    with FolderLock(tmp_path):
        script = (
            "import sys\n"
            "from pathlib import Path\n"
            "from paperdigest.fsutil import FolderLock, LockedError\n"
            "try:\n"
            "    FolderLock(Path(sys.argv[1])).acquire()\n"
            "except LockedError as exc:\n"
            "    print(exc)\n"
            "    sys.exit(3)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=HOLDER_TIMEOUT,
        )
    assert result.returncode == 3
    assert f"pid {os.getpid()}" in result.stdout
