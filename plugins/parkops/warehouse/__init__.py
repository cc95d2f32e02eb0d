"""Warehouse access: one SQLAlchemy engine per URL, DDL, bulk loads, SQL transforms.

Runs on DuckDB (the embedded default) and PostgreSQL (production); everything that differs
between the two is in this package, keyed on ``engine.dialect.name``.
"""

from __future__ import annotations

import contextlib
import io
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from parkops.config import sql_dir, warehouse_url

SUPPORTED_DIALECTS = ("duckdb", "postgresql")


def create_warehouse_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    """Engine for the warehouse URL (``PARKOPS_WAREHOUSE_URL`` by default).

    DuckDB admits one writer process per file, so its engine keeps no pooled connection
    (NullPool): the file is released as soon as a block ends and another task can open it.
    Readers pass ``read_only=True``.
    """
    url = url or warehouse_url()
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "duckdb":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"read_only": True} if read_only else {}
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return sa.create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported warehouse URL {parsed.render_as_string()}: use duckdb:/// or postgresql://")


def split_statements(sql_text: str) -> list[str]:
    """Split a DDL file on semicolons that end a line (comments inside strings may hold ';')."""
    statements = []
    for chunk in re.split(r";[ \t]*(?:\n|$)", sql_text):
        lines = [line for line in chunk.splitlines() if not line.strip().startswith("--")]
        statement = "\n".join(lines).strip()
        if statement:
            statements.append(statement)
    return statements


def apply_ddl(connection: Connection) -> None:
    """Create schemas, tables, views and comments (idempotent); run before every load."""
    # psycopg reads "%" as a placeholder even without parameters: DDL text (comments may say
    # "%") is escaped for it. DuckDB takes the text as it is.
    escape = connection.dialect.name == "postgresql"
    for path in sorted((sql_dir() / "ddl").glob("*.sql")):
        for statement in split_statements(path.read_text(encoding="utf-8")):
            connection.exec_driver_sql(statement.replace("%", "%%") if escape else statement)


def read_sql(layer: str, table: str) -> str:
    return (sql_dir() / layer / f"{table}.sql").read_text(encoding="utf-8")


def column_types(connection: Connection, schema: str, table: str) -> dict[str, str]:
    """Column name -> type of a table, in column order; LookupError when the table is missing."""
    rows = connection.execute(
        sa.text(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = :schema and table_name = :table order by ordinal_position"
        ),
        {"schema": schema, "table": table},
    ).all()
    if not rows:
        raise LookupError(f"table {schema}.{table} does not exist in the warehouse")
    return dict(rows)


def table_columns(connection: Connection, schema: str, table: str) -> list[str]:
    return list(column_types(connection, schema, table))


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def qualified(connection: Connection, schema: str, table: str) -> str:
    return f"{_quoted(connection, schema)}.{_quoted(connection, table)}"


def rebuild_table(connection: Connection, schema: str, table: str, params: dict | None = None) -> int:
    """Replace a table's content with the result of ``sql/<schema>/<table>.sql``.

    Delete and insert run in the caller's transaction, so readers see the old content or the
    new one, never a mix. Returns the number of rows written.
    """
    columns = table_columns(connection, schema, table)
    column_list = ", ".join(_quoted(connection, column) for column in columns)
    target = qualified(connection, schema, table)
    query = read_sql(schema, table).strip().rstrip(";")
    connection.exec_driver_sql(f"delete from {target}")
    connection.execute(
        sa.text(f"insert into {target} ({column_list}) select {column_list} from ({query}) as built"),
        params or {},
    )
    return connection.execute(sa.text(f"select count(*) from {target}")).scalar_one()


_column_types_cache: dict[tuple[str, str, str], dict[str, str]] = {}


def _duckdb_column_types(connection: Connection, schema: str, table: str) -> dict[str, str]:
    """Column types, cached per database file: the DDL only ever adds tables and columns."""
    key = (str(connection.engine.url), schema, table)
    if key not in _column_types_cache:
        _column_types_cache[key] = column_types(connection, schema, table)
    return _column_types_cache[key]


def bulk_insert(connection: Connection, schema: str, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame through the engine's fast path, inside the caller's transaction.

    DuckDB scans the DataFrame directly (``insert ... select from`` a registered view);
    PostgreSQL receives it through ``COPY ... FROM STDIN`` (psycopg 3). Columns are matched
    by name; values arrive as text or numbers and the database casts them to the column types.
    """
    if frame.empty:
        return 0
    dialect = connection.dialect.name
    columns = list(frame.columns)
    column_list = ", ".join(_quoted(connection, column) for column in columns)
    target = qualified(connection, schema, table)
    if dialect == "duckdb":
        types = _duckdb_column_types(connection, schema, table)
        select_list = ", ".join(f"cast({_quoted(connection, column)} as {types[column]})" for column in columns)
        duck = connection.connection.driver_connection
        view_name = f"_bulk_{schema}_{table}"
        duck.register(view_name, frame)
        try:
            connection.exec_driver_sql(f"insert into {target} ({column_list}) select {select_list} from {view_name}")
        finally:
            duck.unregister(view_name)
        return len(frame)
    if dialect == "postgresql":
        copy_sql = f"copy {target} ({column_list}) from stdin with (format csv)"
        cursor = connection.connection.driver_connection.cursor()
        # closing(): a failed COPY stops the encoder thread at once, not when the traceback goes.
        with contextlib.closing(_csv_chunks_ahead(frame)) as chunks, cursor.copy(copy_sql) as copy:
            for chunk in chunks:
                copy.write(chunk)
        return len(frame)
    raise ValueError(f"unsupported warehouse dialect {dialect}")


def _csv_chunks(frame: pd.DataFrame, rows_per_chunk: int = 100_000) -> Iterable[bytes]:
    """CSV bytes for COPY, encoded by pyarrow (about 6x faster than ``DataFrame.to_csv``).

    pyarrow writes a null as an unquoted empty field, which COPY reads as NULL, and an empty
    string as ``""``, which COPY reads as an empty string. Every column is sent as text: the
    database casts it to the column type, exactly as for DuckDB.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    for start in range(0, len(frame), rows_per_chunk):
        chunk = frame.iloc[start : start + rows_per_chunk]
        arrays = [_as_text_array(chunk[column], pa) for column in chunk.columns]
        table = pa.Table.from_arrays(arrays, names=[str(column) for column in chunk.columns])
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, write_options=options)
        yield buffer.getvalue()


#: Rows per COPY chunk when encoding runs ahead, and how many chunks may wait encoded.
COPY_CHUNK_ROWS = 20_000
COPY_CHUNKS_AHEAD = 2
_END_OF_CHUNKS = object()


def _csv_chunks_ahead(frame: pd.DataFrame) -> Iterator[bytes]:
    """:func:`_csv_chunks`, encoded in a thread one or two chunks ahead of the COPY.

    Encoded in line, the client encodes while the server waits and the server parses while
    the client waits: a COPY took encoding + parsing. Arrow's conversions and CSV writer release
    the GIL, so on a second core the next chunk is encoded while the server parses the last one.
    A frame of one chunk is encoded in line (a thread would only add its start-up). An error in
    the encoder is raised here; an error in the COPY stops the encoder.
    """
    if len(frame) <= COPY_CHUNK_ROWS:
        yield from _csv_chunks(frame, COPY_CHUNK_ROWS)
        return
    chunks: queue.Queue = queue.Queue(maxsize=COPY_CHUNKS_AHEAD)
    stopped = threading.Event()

    def hand_over(item: object) -> bool:
        while not stopped.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def encode() -> None:
        try:
            for chunk in _csv_chunks(frame, COPY_CHUNK_ROWS):
                if not hand_over(chunk):
                    return
        except Exception as error:  # noqa: BLE001 - not swallowed: handed to the COPY, which raises it
            hand_over(error)
            return
        hand_over(_END_OF_CHUNKS)

    encoder = threading.Thread(target=encode, name="copy-csv-encoder", daemon=True)
    encoder.start()
    try:
        while (item := chunks.get()) is not _END_OF_CHUNKS:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stopped.set()
        encoder.join()


def _as_text_array(column: pd.Series, pa: object) -> object:
    """A column as an Arrow string array (None/NaN -> null), converted in C when the types allow.

    Columns of one type (text, integers, booleans) convert column-wise; a column mixing Python
    types falls back to converting value by value.
    """
    import pyarrow.compute as pc

    try:
        array = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is not None and (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    if array is not None and (pa.types.is_integer(array.type) or pa.types.is_boolean(array.type)):
        return pc.cast(array, pa.string())
    values = [
        None
        if value is None or (isinstance(value, float) and value != value)
        else ("true" if value else "false")
        if isinstance(value, bool)
        else str(value)
        for value in column.tolist()
    ]
    return pa.array(values, type=pa.string())


def delete_where(connection: Connection, schema: str, table: str, conditions: dict[str, object]) -> int:
    """``delete from schema.table where col = :col and ...`` with bound values."""
    target = qualified(connection, schema, table)
    where = " and ".join(f"{_quoted(connection, column)} = :{column}" for column in conditions)
    result = connection.execute(sa.text(f"delete from {target} where {where}"), conditions)
    return result.rowcount if result.rowcount is not None else 0


def fetch_frame(connection: Connection, query: str, params: dict | None = None) -> pd.DataFrame:
    """The rows of ``query`` as the driver returned them: a NULL stays None, an integer an int.

    Object columns: pandas' inference would read a text column holding a NULL as a string
    column with NaN, and an integer column holding a NULL as floats, for every reader to undo.
    """
    result = connection.execute(sa.text(query), params or {})
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
