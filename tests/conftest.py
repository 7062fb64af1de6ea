"""Fixtures for the real databases: a SQLite file and a PostgreSQL schema, and
openers of stores on them (``open_sqlite``, ``open_postgres``).

PostgreSQL comes from ``MILESTONEBILL_PG_DSN`` (``eval "$(bash .ci/postgres.sh)"``
sets it).  Without it, PostgreSQL tests are skipped on a laptop but fail
loudly when ``CI=true``, so CI can never pass by silently skipping them.

Hypothesis runs with the ``milestonebill`` profile: no per-example deadline
and no ``too_slow`` health check.  Both are timings, and speed is measured
in ``bench/``, not asserted in tests: on a loaded CI machine a collection
pause or a first import can make an example "too slow" at random.  A test that
guards against a hang (the fuzzers) still sets its own deadline.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("milestonebill", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("milestonebill")

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The PostgreSQL DSN for tests; skip (laptop) or fail (CI) without one."""
    dsn = os.environ.get("MILESTONEBILL_PG_DSN", "").strip()
    if not dsn:
        reason = 'MILESTONEBILL_PG_DSN is not set; run: eval "$(bash .ci/postgres.sh)"'
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    return dsn


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh, empty schema name for one test, dropped afterwards."""
    import psycopg

    name = f"t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A path for a fresh SQLite store file."""
    return tmp_path / "milestonebill.db"


def _opener(make: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``make`` (keyword arguments as the store takes them), each store it opens
    closed after the test."""
    opened: list[Any] = []

    def open_store(**kwargs: Any) -> Any:
        store = make(**kwargs)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def open_sqlite(sqlite_path: Path) -> Iterator[Callable[..., Any]]:
    """Opens a ``SQLiteStore`` on the test's one file (several handles: as several
    processes would); every one is closed after the test."""
    from milestonebill.stores.sqlite import SQLiteStore

    yield from _opener(lambda **kwargs: SQLiteStore(sqlite_path, **kwargs))


@pytest.fixture
def open_postgres(pg_dsn: str, pg_schema: str) -> Iterator[Callable[..., Any]]:
    """Opens a ``PostgresStore`` (a pool of 2) on the test's one schema; every one is
    closed after the test."""
    from milestonebill.stores.postgres import PostgresStore

    yield from _opener(lambda **kwargs: PostgresStore(pg_dsn, schema=pg_schema, pool_size=2,
                                                      **kwargs))
