"""The PostgreSQL database of the benchmark runs: ``DATABASE_URL``, or the
local "bench" database, created when it does not exist yet."""

from __future__ import annotations

import os

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"


def database_url() -> str:
    """The URL to run against; its database exists when this returns."""
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    return url


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = str(config["NAME"])
    options = {
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
    }
    options = {key: value for key, value in options.items() if value}
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **options) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if found is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise SystemExit(
            f"PostgreSQL for the benchmarks ({url}) is not usable: {exc}".strip()
        ) from exc
