"""Which failures a task retries: transient ones only.

A lost connection, a database lock held by another writer or a timeout may pass, so Airflow
retries them with backoff. Anything else (bad configuration, a broken contract, a bug) will
fail the same way again: it becomes ``AirflowFailException``, which fails the task at once
without burning retries and their delays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

Params = ParamSpec("Params")
Result = TypeVar("Result")


class SourceFilesUnread(Exception):
    """Landed files a load could not read (moved away, I/O error, bytes changed since discovery).

    Transient: nothing was recorded for them, so a retry (or the next run) reads them again.
    ``unread`` maps each file (landing-relative path) to what went wrong.
    """

    def __init__(self, unread: dict[str, str]):
        files = "; ".join(f"{source_file}: {problem}" for source_file, problem in unread.items())
        super().__init__(f"{len(unread)} landed file(s) could not be read, nothing recorded for them: {files}")
        self.unread = unread


def transient_errors() -> tuple[type[BaseException], ...]:
    import sqlalchemy.exc

    # OperationalError covers lost connections and DuckDB's "could not set lock on file"
    # (duckdb.IOException subclasses the DB-API OperationalError); psycopg's connection
    # failures arrive wrapped the same way.
    return (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        ConnectionError,
        TimeoutError,
        SourceFilesUnread,
    )


def is_transient(error: BaseException) -> bool:
    if isinstance(error, transient_errors()):
        return True
    import duckdb
    import psycopg

    # Driver errors raised outside SQLAlchemy, so not wrapped: the warehouse's bulk paths use the
    # driver directly (DuckDB's registered frames, PostgreSQL's COPY). psycopg's OperationalError
    # is what SQLAlchemy wraps as OperationalError: a lock wait or statement timeout, a deadlock or
    # serialisation failure, the server shutting the connection (AdminShutdown).
    return isinstance(error, duckdb.IOException | duckdb.OperationalError | psycopg.OperationalError)


def retry_only_transient(task_callable: Callable[Params, Result]) -> Callable[Params, Result]:
    @functools.wraps(task_callable)
    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        from airflow.sdk.exceptions import AirflowFailException

        try:
            return task_callable(*args, **kwargs)
        except Exception as error:
            if is_transient(error):
                raise
            raise AirflowFailException(
                f"{type(error).__name__}: {error} (not retried: not a transient error)"
            ) from error

    return wrapper
