"""SQLite cache of scores, keyed by a hash of everything that changes the model's answer.

The key covers the paper id and version, the prompt digest, the model and the request
parameters that change answers, so a run with the same settings can reuse earlier scores
instead of requesting them again. The schema is versioned with ``PRAGMA user_version`` and upgraded
in place by the functions in ``MIGRATIONS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import platformdirs

from paperdigest.errors import PaperdigestError
from paperdigest.models import Paper, Score

logger = logging.getLogger(__name__)

CACHE_FILE_NAME = "cache.sqlite3"

# Request parameters that limit or transport a request but do not change a finished answer.
# "model" is dropped because the model is a separate part of the key.
IGNORED_PARAMS = frozenset({"model", "max_completion_tokens", "max_tokens", "timeout", "max_retries", "retries"})

# Version of the key layout itself. Raising it invalidates every stored score.
KEY_FORMAT = 1

# Seconds a connection waits for another process's write lock before failing with SQLITE_BUSY.
BUSY_TIMEOUT = 30

# Seconds between attempts to switch a new file to WAL mode.
_WAL_RETRY_DELAY = 0.05

# Keys per SELECT. SQLite builds before 3.32 allow at most 999 bound parameters.
_KEYS_PER_QUERY = 500


class CacheError(PaperdigestError):
    """The score cache file cannot be opened, read or written."""


def default_cache_path() -> Path:
    """Return the per-user cache file, e.g. ~/.local/share/paperdigest/cache.sqlite3 on Linux."""
    return Path(platformdirs.user_data_dir("paperdigest", appauthor=False)) / CACHE_FILE_NAME


def score_key(paper: Paper, prompt_digest: str, model: str, params: Mapping[str, Any]) -> str:
    """Return the cache key of one paper's score: the SHA-256 hex digest of a canonical JSON.

    Parameters in IGNORED_PARAMS and parameters set to None are left out, so raising
    max_completion_tokens or the timeout keeps the stored scores. Integral floats count as
    integers, so temperature 1 and 1.0 give the same key.
    """
    answer_params = {
        name: _canonical_number(value)
        for name, value in params.items()
        if name not in IGNORED_PARAMS and value is not None
    }
    document = {
        "format": KEY_FORMAT,
        "paper": paper.id,
        "version": paper.version,
        "prompt": prompt_digest,
        "model": model,
        "params": answer_params,
    }
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"request parameters {answer_params!r} cannot form a cache key: {exc}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Migrations: MIGRATIONS[n] upgrades a database from schema version n to n + 1. Append new
# functions and never edit released ones, because existing files have already run them.


def _create_scores_table(connection: sqlite3.Connection) -> None:
    connection.execute(
        """
        CREATE TABLE scores (
            key TEXT PRIMARY KEY,
            paper_id TEXT NOT NULL,
            relevance INTEGER NOT NULL,
            novelty INTEGER NOT NULL,
            comment TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


def _index_created_at(connection: sqlite3.Connection) -> None:
    """Index the creation time, which prune() filters on."""
    connection.execute("CREATE INDEX scores_created_at ON scores (created_at)")


def _create_vectors_table(connection: sqlite3.Connection) -> None:
    """Paper embeddings of the offline rankers, keyed by model, paper version and text hash."""
    connection.execute(
        """
        CREATE TABLE vectors (
            key TEXT PRIMARY KEY,
            vector BLOB NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_scores_table,
    _index_created_at,
    _create_vectors_table,
)
SCHEMA_VERSION = len(MIGRATIONS)


class ScoreStore(Protocol):
    """The interface that ScoreCache and NullCache share, for type hints in the scorer."""

    def get_many(self, keys: Collection[str]) -> dict[str, Score]: ...

    def put_many(self, items: Iterable[tuple[str, Score]], *, model: str) -> None: ...

    def get_vectors(self, keys: Collection[str]) -> dict[str, bytes]: ...

    def put_vectors(self, items: Iterable[tuple[str, bytes]]) -> None: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class ScoreCache:
    """Scores stored in one SQLite file, safe to share between threads and processes.

    All calls on one instance go through a single connection guarded by a threading.Lock.
    Other processes use their own connections, and SQLite's WAL mode and the 30 s busy
    timeout serialize their writes.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"cannot create the folder {self.path.parent} for the score cache: {exc}. "
                "Check its permissions, choose another cache path, or run with --no-cache."
            ) from None

        try:
            # isolation_level=None turns off the sqlite3 module's implicit transactions, so
            # every transaction below is an explicit BEGIN IMMEDIATE ... COMMIT.
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error("open", exc) from None

        try:
            self._set_wal_mode(connection)
            self._migrate(connection)
        except sqlite3.Error as exc:
            connection.close()
            raise self._error("open", exc) from None
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    @classmethod
    def disabled(cls) -> NullCache:
        """Return a cache that stores nothing, for runs with caching turned off."""
        return NullCache()

    def get_many(self, keys: Collection[str]) -> dict[str, Score]:
        """Return the stored score of each key that has one. Missing keys are left out."""
        unique_keys = list(dict.fromkeys(keys))
        rows = self._select_keys("SELECT key, paper_id, relevance, novelty, comment FROM scores", unique_keys)
        found = {key: Score(paper_id, relevance, novelty, comment) for key, paper_id, relevance, novelty, comment in rows}
        logger.debug("score cache %s: %d of %d keys found", self.path, len(found), len(unique_keys))
        return found

    def put_many(self, items: Iterable[tuple[str, Score]], *, model: str) -> None:
        """Store scores under their keys in one transaction, replacing older scores for the same key.

        Each row records the model and the current UTC time as an ISO 8601 string.
        """
        created_at = _utc_now_iso()
        rows = [
            (key, score.paper_id, score.relevance, score.novelty, score.comment, model, created_at)
            for key, score in items
        ]
        self._insert_rows(
            "INSERT OR REPLACE INTO scores (key, paper_id, relevance, novelty, comment, model, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if rows:
            logger.debug("score cache %s: stored %d scores", self.path, len(rows))

    def get_vectors(self, keys: Collection[str]) -> dict[str, bytes]:
        """Return the stored embedding bytes of each key that has them."""
        rows = self._select_keys("SELECT key, vector FROM vectors", list(dict.fromkeys(keys)))
        return {key: bytes(vector) for key, vector in rows}

    def put_vectors(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store embedding bytes under their keys in one transaction."""
        created_at = _utc_now_iso()
        rows = [(key, vector, created_at) for key, vector in items]
        self._insert_rows("INSERT OR REPLACE INTO vectors (key, vector, created_at) VALUES (?, ?, ?)", rows)

    def _select_keys(self, query: str, keys: list[str]) -> list[tuple]:
        """Run `query` WHERE key IN (...) over the keys, _KEYS_PER_QUERY at a time."""
        rows: list[tuple] = []
        with self._lock:
            connection = self._open_connection()
            try:
                for start in range(0, len(keys), _KEYS_PER_QUERY):
                    chunk = keys[start : start + _KEYS_PER_QUERY]
                    placeholders = ",".join("?" * len(chunk))
                    rows.extend(connection.execute(f"{query} WHERE key IN ({placeholders})", chunk))
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return rows

    def _insert_rows(self, statement: str, rows: list[tuple]) -> None:
        """Run `statement` for every row in one transaction; nothing happens for no rows."""
        if not rows:
            return
        with self._lock:
            connection = self._open_connection()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(statement, rows)
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(connection)
                raise self._error("write", exc) from None
            except BaseException:
                _rollback(connection)
                raise

    def count(self) -> int:
        """Return the number of stored scores."""
        with self._lock:
            connection = self._open_connection()
            try:
                (total,) = connection.execute("SELECT COUNT(*) FROM scores").fetchone()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return total

    def prune(self, before: dt.datetime) -> int:
        """Delete scores and paper vectors stored before `before` (timezone-aware); return the scores deleted."""
        if before.tzinfo is None:
            raise ValueError(f"prune() requires a timezone-aware datetime, got {before!r}")
        cutoff = before.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            connection = self._open_connection()
            try:
                connection.execute("BEGIN IMMEDIATE")
                deleted = connection.execute("DELETE FROM scores WHERE created_at < ?", (cutoff,)).rowcount
                connection.execute("DELETE FROM vectors WHERE created_at < ?", (cutoff,))
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(connection)
                raise self._error("write", exc) from None
            except BaseException:
                _rollback(connection)
                raise
        logger.info("score cache %s: deleted %d scores stored before %s", self.path, deleted, cutoff)
        return deleted

    def close(self) -> None:
        """Close the connection. Closing twice is allowed, and any other call afterwards raises ValueError."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError(f"score cache {self.path} is closed")
        return self._connection

    def _set_wal_mode(self, connection: sqlite3.Connection) -> None:
        """Switch the file to WAL mode, which lets readers continue while another process writes.

        SQLite reports SQLITE_BUSY at once, without the busy timeout, when two connections
        switch a new file at the same moment, so the switch is retried for up to BUSY_TIMEOUT.
        """
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        deadline = time.monotonic() + BUSY_TIMEOUT
        attempts = 0
        while str(mode).lower() != "wal":
            attempts += 1
            try:
                (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
            except sqlite3.OperationalError as exc:
                if _primary_code(exc) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(_WAL_RETRY_DELAY)
                continue
            if str(mode).lower() != "wal":
                # NOTE: SQLite keeps the old journal mode where WAL is unsupported, e.g. on some
                # network file systems. Writes then block readers for their duration.
                logger.warning("score cache %s: WAL journal mode unavailable, using %s", self.path, mode)
                return
        if attempts > 1:
            logger.debug("score cache %s: WAL mode set after %d attempts", self.path, attempts)

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Upgrade the schema to SCHEMA_VERSION, applying all missing migrations in one transaction."""
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Check under the write lock, which gives one consistent snapshot, because another
            # process may have migrated the file since the read above.
            version = self._check_version(connection)
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](connection)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise
        if version != SCHEMA_VERSION:
            logger.info("score cache %s: schema upgraded from version %d to %d", self.path, version, SCHEMA_VERSION)

    def _check_version(self, connection: sqlite3.Connection) -> int:
        """Return the file's schema version, raising CacheError for a file this code cannot use.

        Call it inside a transaction, so the version and the table list come from the same snapshot.
        """
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise CacheError(
                f"score cache {self.path} has schema version {version}, but this paperdigest "
                f"supports versions up to {SCHEMA_VERSION}. Upgrade paperdigest, "
                "or delete the file to start an empty cache."
            )
        if version == 0:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                raise CacheError(
                    f"{self.path} is a SQLite database with tables {', '.join(tables)}, "
                    "not a paperdigest score cache. Choose another cache path, or delete the file."
                )
        return version

    def _error(self, action: str, exc: sqlite3.Error) -> CacheError:
        """Build the CacheError for a failed sqlite3 call, with the fix that fits its error code."""
        primary_code = _primary_code(exc)
        if primary_code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            return CacheError(
                f"score cache {self.path} is corrupt or not a SQLite database ({exc}). "
                "Delete it so the next run starts an empty cache, or run with --no-cache."
            )
        if primary_code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return CacheError(
                f"timed out after {BUSY_TIMEOUT} s waiting to {action} the score cache {self.path}, "
                "which another process has locked. Wait for the other paperdigest run to finish, "
                "or run with --no-cache."
            )
        return CacheError(
            f"cannot {action} the score cache {self.path}: {exc}. Check the file's permissions "
            "and the free disk space, delete the file, or run with --no-cache."
        )


class NullCache:
    """A cache that stores nothing: every lookup misses and every put is dropped."""

    path: Path | None = None

    def get_many(self, keys: Collection[str]) -> dict[str, Score]:
        return {}

    def put_many(self, items: Iterable[tuple[str, Score]], *, model: str) -> None:
        return None

    def get_vectors(self, keys: Collection[str]) -> dict[str, bytes]:
        return {}

    def put_vectors(self, items: Iterable[tuple[str, bytes]]) -> None:
        return None

    def count(self) -> int:
        return 0

    def prune(self, before: dt.datetime) -> int:
        return 0

    def close(self) -> None:
        return None

    def __enter__(self) -> NullCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _primary_code(exc: sqlite3.Error) -> int | None:
    """Return the primary SQLite result code of an error, e.g. SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _rollback(connection: sqlite3.Connection) -> None:
    # SQLite rolls back by itself after some errors, and ROLLBACK then fails with no transaction.
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _utc_now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
