"""Fixed statements of the per-event path, run on the driver's connection (see run_prebuilt)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.util import greenlet_spawn

from models.db import run_direct

_Row = TypeVar("_Row")


class _Compiled:
    """A fixed statement compiled for one dialect, with what running it on the driver takes."""

    def __init__(self, statement: Any, dialect: Any, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.update_prefetch:  # defaults made in Python
            raise ValueError(f"give every value of a prebuilt statement: {compiled}")
        self.compiled = compiled
        self.sql = compiled.string
        self.positions = compiled.positiontup if dialect.positional else None
        self.processors = compiled._bind_processors
        self.returns = bool(compiled.returning) or statement.is_select
        converters = [
            c.type._cached_result_processor(dialect, None) for c in statement.exported_columns
        ]
        self.converters = converters if self.returns and any(converters) else None
        self.errors = dialect.loaded_dbapi.Error


_COMPILED: dict[tuple[Any, str, tuple[str, ...]], _Compiled] = {}


class DriverTransaction:
    """A transaction of prebuilt statements only, on a connection of the pool, no session:
    what run_prebuilt takes in place of a session (see driver_transaction)."""

    def __init__(self, dialect: Any, driver: Any) -> None:
        self.dialect = dialect
        self.driver = driver


@contextlib.asynccontextmanager
async def driver_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[DriverTransaction]:
    """A transaction like `sessionmaker()`'s with `begin()`, for writes made of prebuilt
    statements alone (storing an event, the sender's marks): committed at the end, rolled
    back if the block raises; errors are raised as SQLAlchemy's. A session's transaction
    cost ~175 µs of CPU around a one-row write on SQLite, this one ~55 µs: no session, no
    SQLAlchemy connection and its events, each step one awaited call on the driver."""
    engine: AsyncEngine = sessionmaker.kw["bind"]
    dialect = engine.dialect
    errors = dialect.loaded_dbapi.Error
    pooled = await engine.raw_connection()  # the pool's limits and time-out, as a session's
    try:
        driver = pooled.driver_connection
        if dialect.name == "sqlite":  # as models.db's begin event: a writer from the start
            await _on_driver(errors, "BEGIN IMMEDIATE", _begin_immediate(driver))
        yield DriverTransaction(dialect, driver)
        await _on_driver(errors, "COMMIT", driver.commit())
    finally:
        # Back to the pool, which rolls back what was not committed (as it does a session's
        # connection); its reset runs the driver's calls through SQLAlchemy's greenlet.
        await greenlet_spawn(pooled.close)


async def _begin_immediate(driver: Any) -> None:
    cursor = await driver.execute("BEGIN IMMEDIATE")
    await cursor.close()


async def _on_driver(errors: Any, what: str, call: Awaitable[Any]) -> None:
    try:
        await call
    except errors as error:
        raise DBAPIError.instance(what, (), error, errors) from error


async def run_prebuilt(
    session: AsyncSession | DriverTransaction, statement: Any, params: dict[str, Any]
) -> tuple[list[Any], int]:
    """Run a statement of the fixed per-event path on the driver's connection, in the
    session's (or driver transaction's) transaction: its rows (if it returns any) and its
    row count.

    Through the session each statement cost ~250 Python calls of execution context, result
    and event plumbing, for the ~10 µs the database takes; compiled once here (bind values
    converted as SQLAlchemy would) it costs a tenth. For statements built once, taking every
    value as a parameter (no Python-side defaults); errors are raised as SQLAlchemy's.
    """
    if isinstance(session, DriverTransaction):
        dialect, driver = session.dialect, session.driver
    else:
        connection = await _connection_of(session)
        dialect = connection.dialect
        driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    compiled, args = _bound(statement, dialect, params)
    try:
        direct = run_direct(driver, compiled.sql, args, compiled.returns)
        if direct is None:
            return await _through_driver(driver, compiled, args)
        rows, count = direct
        if compiled.converters:
            rows = [_converted(row, compiled.converters) for row in rows]
        return rows, count
    except compiled.errors as error:
        raise DBAPIError.instance(compiled.sql, args, error, compiled.errors) from error


def _bound(statement: Any, dialect: Any, params: dict[str, Any]) -> tuple[_Compiled, Any]:
    """The statement compiled once for the dialect, and its bind values as the driver takes
    them (converted as SQLAlchemy would)."""
    key = (statement, dialect.name, tuple(params))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _Compiled(statement, dialect, key[2])
    values = compiled.compiled.construct_params(params, escape_names=False)
    for name, process in compiled.processors.items():
        if name in values:
            values[name] = process(values[name])
    args: Any = values if compiled.positions is None else [values[n] for n in compiled.positions]
    return compiled, args


async def _through_driver(driver: Any, compiled: _Compiled, args: Any) -> tuple[list[Any], int]:
    """The statement through the driver's own (awaited) cursor: PostgreSQL, or SQLite's calls
    in aiosqlite's thread."""
    cursor = await driver.execute(compiled.sql, args)
    try:
        rows = list(await cursor.fetchall()) if compiled.returns else []
        if compiled.converters:
            rows = [_converted(row, compiled.converters) for row in rows]
        return rows, cursor.rowcount
    finally:
        await cursor.close()


async def _connection_of(session: AsyncSession) -> AsyncConnection:
    """The session's connection, kept for the rest of its transaction: asked of the session
    each time, it went through a greenlet and the session's bookkeeping (most of the cost of
    a statement run here)."""
    sync = session.sync_session
    kept = session.info.get(_KEPT)
    transaction = sync.get_transaction()
    if kept is not None and kept[0] is transaction and transaction.is_active:
        return kept[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    session.info[_KEPT] = (sync.get_transaction(), connection)
    return connection


_KEPT = "prebuilt connection"  # session.info: (its transaction, its connection)


def attached(session: AsyncSession, row: _Row) -> _Row:
    """A row object built from values the database holds (just written or read by a prebuilt
    statement), put in the session as loaded: changed or deleted later, never inserted."""
    make_transient_to_detached(row)
    session.add(row)
    return row


def loaded(session: AsyncSession, entity: type[_Row], values: tuple[Any, ...]) -> _Row:
    """The object of `entity` whose columns (all of its table's, in order) a prebuilt
    statement read: the session's own if it holds it already, else built and put in the
    session as loaded, its relationships not loaded (set those with set_committed_value)."""
    mapper = inspect(entity)
    keys = _ATTRIBUTE_KEYS.get(entity)
    if keys is None:
        keys = _ATTRIBUTE_KEYS[entity] = _attribute_keys(mapper)
    row = dict(zip(keys[0], values, strict=True))
    identity = mapper.identity_key_from_primary_key([row[key] for key in keys[1]])
    found = session.sync_session.identity_map.get(identity)
    if found is not None:
        return found  # type: ignore[no-any-return]
    # Filled in place, not through the constructor: it records every value as a change
    # (a dozen attribute events per object) that would only be reset at once.
    obj = mapper.class_manager.new_instance()
    instance_state(obj).dict.update(row)
    return attached(session, obj)


_ATTRIBUTE_KEYS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _attribute_keys(mapper: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The attribute of each column of the entity's table, in order; those of its key."""
    columns = tuple(mapper.get_property_by_column(c).key for c in mapper.local_table.columns)
    key = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
    return columns, key


def _converted(row: Any, converters: list[Any]) -> tuple[Any, ...]:
    return tuple(
        value if c is None else c(value) for value, c in zip(row, converters, strict=True)
    )
