"""Score cache: keys, round trips, threads, schema migrations and broken files."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

from paperdigest import store
from paperdigest.models import Paper, Score
from paperdigest.store import CacheError, NullCache, ScoreCache, default_cache_path, score_key

DIGEST = "a" * 64
MODEL = "gpt-5-mini"
PARAMS = {"model": MODEL, "max_completion_tokens": 4000, "reasoning_effort": "low"}

# Schema version 1 as released, written out by hand so the test does not depend on
# the migration function it checks.
V1_SCHEMA = """
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


def paper(pid="2509.00001", version=1) -> Paper:
    return Paper(pid, version, "A title", ("Ann Author",), "An abstract.", ("cs.LG",), "new")


def score(pid="2509.00001", relevance=7, novelty=5) -> Score:
    return Score(pid, relevance, novelty, f"comment on {pid}")


def user_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        connection.close()


def index_names(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores'")
        return [row[0] for row in rows]
    finally:
        connection.close()


# score_key


def test_key_is_sha256_hex():
    key = score_key(paper(), DIGEST, MODEL, PARAMS)
    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")


def test_key_stable():
    assert score_key(paper(), DIGEST, MODEL, PARAMS) == score_key(paper(), DIGEST, MODEL, dict(PARAMS))


def test_key_param_order_irrelevant():
    reordered = dict(reversed(list(PARAMS.items())))
    assert score_key(paper(), DIGEST, MODEL, reordered) == score_key(paper(), DIGEST, MODEL, PARAMS)


@pytest.mark.parametrize(
    "changed",
    [
        {"paper": paper(pid="2509.00002")},
        {"paper": paper(version=2)},
        {"prompt_digest": "b" * 64},
        {"model": "gpt-5"},
        {"params": {**PARAMS, "reasoning_effort": "high"}},
        {"params": {**PARAMS, "temperature": 0.2}},
        {"params": {"model": MODEL, "max_completion_tokens": 4000}},
    ],
    ids=["paper id", "version", "prompt digest", "model", "reasoning effort", "temperature", "param removed"],
)
def test_key_changes(changed):
    base = {"paper": paper(), "prompt_digest": DIGEST, "model": MODEL, "params": PARAMS}
    assert score_key(**{**base, **changed}) != score_key(**base)


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "max_completion_tokens": 16000},
        {**PARAMS, "max_tokens": 100},
        {**PARAMS, "timeout": 5.0, "max_retries": 9, "retries": 2},
        {**PARAMS, "model": "ignored-duplicate"},
        {**PARAMS, "temperature": None},
    ],
    ids=["max_completion_tokens", "max_tokens", "timeout and retries", "model param", "None value"],
)
def test_key_ignores_param(params):
    assert score_key(paper(), DIGEST, MODEL, params) == score_key(paper(), DIGEST, MODEL, PARAMS)


def test_key_integral_float_equals_int():
    as_float = score_key(paper(), DIGEST, "gpt-4o", {"temperature": 1.0})
    as_int = score_key(paper(), DIGEST, "gpt-4o", {"temperature": 1})
    assert as_float == as_int


def test_key_unserializable_param_raises():
    with pytest.raises(ValueError, match="cache key"):
        score_key(paper(), DIGEST, MODEL, {"temperature": object()})


# round trip and lookups


def test_cache_round_trip(tmp_path):
    path = tmp_path / "cache.sqlite3"
    stored = score()
    key = score_key(paper(), DIGEST, MODEL, PARAMS)
    with ScoreCache(path) as cache:
        cache.put_many([(key, stored)], model=MODEL)
    with ScoreCache(path) as cache:
        found = cache.get_many([key])
    assert found == {key: stored}


def test_cache_creates_parent_folders(tmp_path):
    path = tmp_path / "a" / "b" / "cache.sqlite3"
    with ScoreCache(path):
        pass
    assert path.is_file()


def test_cache_new_file_schema_version(tmp_path):
    path = tmp_path / "cache.sqlite3"
    with ScoreCache(path):
        pass
    assert user_version(path) == store.SCHEMA_VERSION


def test_cache_uses_wal(tmp_path):
    path = tmp_path / "cache.sqlite3"
    with ScoreCache(path):
        connection = sqlite3.connect(path)
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        connection.close()
    assert mode == "wal"


def test_cache_stores_model_and_utc_time(tmp_path):
    path = tmp_path / "cache.sqlite3"
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with ScoreCache(path) as cache:
        cache.put_many([("k", score())], model=MODEL)
    connection = sqlite3.connect(path)
    model, created_at = connection.execute("SELECT model, created_at FROM scores").fetchone()
    connection.close()
    created = dt.datetime.fromisoformat(created_at)
    assert model == MODEL
    assert created.utcoffset() == dt.timedelta(0)
    assert created >= before


def test_get_many_missing_keys(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        cache.put_many([("k1", score("2509.00001")), ("k2", score("2509.00002"))], model=MODEL)
        found = cache.get_many(["k1", "missing", "k2", "also-missing"])
    assert set(found) == {"k1", "k2"}
    assert found["k2"] == score("2509.00002")


def test_get_many_empty(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        assert cache.get_many([]) == {}


def test_get_many_more_keys_than_one_query(tmp_path):
    total = 1200  # more than two chunks of _KEYS_PER_QUERY
    items = [(f"k{i}", score(f"2509.{i:05d}")) for i in range(total)]
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        cache.put_many(items, model=MODEL)
        found = cache.get_many([key for key, _ in items] + ["k0"])
    assert len(found) == total
    assert found["k1199"] == score("2509.01199")


def test_put_many_replaces_same_key(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        cache.put_many([("k", score(relevance=2))], model=MODEL)
        cache.put_many([("k", score(relevance=9))], model=MODEL)
        assert cache.count() == 1
        assert cache.get_many(["k"])["k"].relevance == 9


def test_put_many_accepts_generator(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        cache.put_many(((f"k{i}", score()) for i in range(3)), model=MODEL)
        assert cache.count() == 3


def test_put_many_empty(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        cache.put_many([], model=MODEL)
        assert cache.count() == 0


def test_cache_closed_raises(tmp_path):
    cache = ScoreCache(tmp_path / "cache.sqlite3")
    cache.close()
    cache.close()
    with pytest.raises(ValueError, match="closed"):
        cache.get_many(["k"])


def test_prune_deletes_old_scores(tmp_path):
    path = tmp_path / "cache.sqlite3"
    with ScoreCache(path) as cache:
        cache.put_many([("new", score())], model=MODEL)
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO scores VALUES ('old', '2501.00001', 3, 3, 'old comment', ?, '2025-01-02T00:00:00+00:00')",
        (MODEL,),
    )
    connection.commit()
    connection.close()

    with ScoreCache(path) as cache:
        deleted = cache.prune(dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc))
        remaining = cache.get_many(["old", "new"])
    assert deleted == 1
    assert set(remaining) == {"new"}


def test_prune_naive_datetime_raises(tmp_path):
    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        with pytest.raises(ValueError, match="timezone-aware"):
            cache.prune(dt.datetime(2025, 6, 1))


# concurrency


def test_put_many_from_threads(tmp_path):
    threads_count = 8
    per_thread = 25
    errors: list[BaseException] = []

    def worker(cache: ScoreCache, number: int) -> None:
        try:
            for i in range(per_thread):
                cache.put_many([(f"t{number}-{i}", score(f"2509.{i:05d}"))], model=MODEL)
                cache.get_many([f"t{number}-{i}"])
        except BaseException as exc:  # collected and checked in the main thread
            errors.append(exc)

    with ScoreCache(tmp_path / "cache.sqlite3") as cache:
        threads = [threading.Thread(target=worker, args=(cache, n)) for n in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        alive = [thread for thread in threads if thread.is_alive()]
        total = cache.count()
    assert errors == []
    assert alive == []
    assert total == threads_count * per_thread


def test_two_connections_share_file(tmp_path):
    path = tmp_path / "cache.sqlite3"
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with ScoreCache(path) as cache:
                for i in range(20):
                    cache.put_many([(f"c{number}-{i}", score())], model=MODEL)
        except BaseException as exc:  # collected and checked in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with ScoreCache(path) as cache:
        total = cache.count()
    assert errors == []
    assert total == 80


def test_put_many_busy_raises(tmp_path, monkeypatch):
    path = tmp_path / "cache.sqlite3"
    monkeypatch.setattr(store, "BUSY_TIMEOUT", 0.1)
    other = sqlite3.connect(path, isolation_level=None)
    with ScoreCache(path) as cache:
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(CacheError) as caught:
                cache.put_many([("k", score())], model=MODEL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        total = cache.count()
    message = str(caught.value)
    assert "timed out" in message
    assert str(path) in message
    assert total == 0


def test_open_new_file_from_threads(tmp_path):
    # Connections that open a new file at the same moment race to set WAL mode and to
    # run the migrations. The barrier lines them up so the race happens in most trials.
    threads_count = 4
    errors: list[BaseException] = []

    for trial in range(50):
        path = tmp_path / f"cache{trial}.sqlite3"
        barrier = threading.Barrier(threads_count, timeout=10)

        def worker() -> None:
            try:
                barrier.wait()
                ScoreCache(path).close()
            except BaseException as exc:  # collected and checked in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []


# migrations and broken files


def test_migration_from_v1(tmp_path):
    path = tmp_path / "cache.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(V1_SCHEMA)
    connection.execute(
        "INSERT INTO scores VALUES ('k', '2509.00001', 8, 6, 'kept across the upgrade', 'gpt-4o', "
        "'2025-09-01T08:00:00+00:00')"
    )
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()

    with ScoreCache(path) as cache:
        found = cache.get_many(["k"])

    assert found == {"k": Score("2509.00001", 8, 6, "kept across the upgrade")}
    assert user_version(path) == store.SCHEMA_VERSION
    assert "scores_created_at" in index_names(path)


def test_migration_failure_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "cache.sqlite3"

    def failing_migration(connection):
        connection.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "MIGRATIONS", (store.MIGRATIONS[0], failing_migration))
    with pytest.raises(CacheError, match="cannot open"):
        ScoreCache(path)
    connection = sqlite3.connect(path)
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    connection.close()
    assert tables == []
    assert user_version(path) == 0


def test_future_version_raises(tmp_path):
    path = tmp_path / "cache.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(CacheError) as caught:
        ScoreCache(path)
    message = str(caught.value)
    assert str(path) in message
    assert "version 99" in message
    assert "Upgrade paperdigest" in message
    assert "delete the file" in message


def test_corrupt_file_raises(tmp_path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a SQLite database\n" * 200)
    with pytest.raises(CacheError) as caught:
        ScoreCache(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not a SQLite database" in message
    assert "Delete it" in message


def test_foreign_database_raises(tmp_path):
    path = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (text)")
    connection.close()
    with pytest.raises(CacheError, match="not a paperdigest score cache"):
        ScoreCache(path)


def test_empty_file_becomes_cache(tmp_path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"")
    with ScoreCache(path) as cache:
        assert cache.count() == 0


# NullCache and defaults


def test_null_cache_stores_nothing():
    with NullCache() as cache:
        cache.put_many([("k", score())], model=MODEL)
        assert cache.get_many(["k"]) == {}
        assert cache.count() == 0


def test_disabled_returns_null_cache():
    assert isinstance(ScoreCache.disabled(), NullCache)


def test_default_path_name():
    path = default_cache_path()
    assert path.name == "cache.sqlite3"
    assert path.parent.name == "paperdigest"
