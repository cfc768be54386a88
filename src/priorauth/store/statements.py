"""Hot-path statements compiled once per dialect by SQLAlchemy and run on the driver's cursor.

Why: on ``$submit`` SQLAlchemy's Core ``execute`` cost 60–80 µs a statement on top of the driver
(execution context, parameter and result set-up), more than SQLite takes to run these inserts. Here
SQLAlchemy still writes the SQL (for SQLite and PostgreSQL alike) and converts the values (its own
type processors, per dialect); only the per-call machinery is skipped. Anything this module does not
handle (a column default that is not a constant) is refused with :class:`NotPrecompiledError` so the
caller can use Core instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any] | None


class NotPrecompiledError(Exception):
    """The statement needs SQLAlchemy's execution machinery (e.g. a callable column default)."""


@dataclass(frozen=True)
class _Binder:
    """How one compiled statement takes its parameters."""

    names: tuple[str, ...]  # bind parameter names, in the order a positional paramstyle needs
    positional: bool
    fixed: Mapping[str, Any]  # values the statement binds itself (literals, constant column defaults)
    # (position in ``names``, type processor) for the parameters whose type converts values: most
    # columns (strings, integers) have none, and a row is converted once per statement per request.
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]

    @classmethod
    def of(
        cls, names: tuple[str, ...], positional: bool, processors: Sequence[Processor], fixed: Mapping[str, Any]
    ) -> _Binder:
        """A binder for parameters ``names`` whose types convert values with ``processors``."""
        converters = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        return cls(names, positional, fixed, converters)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``values`` (a missing one raises KeyError naming it)."""
        if self.fixed:
            values = {**self.fixed, **values}
        row = [values[name] for name in self.names]
        for position, convert in self.converters:
            value = row[position]
            if value is not None:
                row[position] = convert(value)
        return tuple(row) if self.positional else dict(zip(self.names, row, strict=True))


def _bind_names(compiled: Any, dialect: Dialect) -> tuple[str, ...]:
    return tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)


def _bind_processor(type_: Any, dialect: Dialect) -> Processor:
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


@functools.cache
def _prepared_insert(table: Table, keys: tuple[str, ...], dialect: Dialect) -> tuple[str, _Binder]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = _bind_names(compiled, dialect)
    fixed: dict[str, Any] = {}
    for name in names:
        if name in keys:
            continue
        # The compiler adds columns with a Python-side default; only constants can be bound here.
        default = table.c[name].default if name in table.c else None
        if default is None or not getattr(default, "is_scalar", False):
            raise NotPrecompiledError(f"{table.name}.{name} has no value and no constant default")
        fixed[name] = default.arg  # type: ignore[attr-defined]
    processors = [_bind_processor(table.c[name].type, dialect) for name in names]
    return str(compiled), _Binder.of(names, dialect.positional, processors, fixed)


def insert_rows(connection: Connection, table: Table, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (each with exactly ``keys``) into ``table`` in the connection's transaction."""
    sql, binder = _prepared_insert(table, keys, connection.dialect)
    _run(connection, sql, [binder.parameters(row) for row in rows])


def _run(connection: Connection, sql: str, params: list[Any]) -> list[Any] | None:
    """Execute on the driver's cursor (fetching when the statement returns rows); driver errors are
    raised as SQLAlchemy's own (IntegrityError, OperationalError, ...), as Core would."""
    dbapi_error: type[Exception] = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else None
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
    finally:
        cursor.close()


@dataclass(frozen=True)
class PreparedSelect:
    """A SELECT compiled for one dialect; :meth:`rows` runs it with the named parameters."""

    sql: str
    binder: _Binder
    results: tuple[Processor, ...]

    def rows(self, connection: Connection, **values: Any) -> list[tuple[Any, ...]]:
        """Run the query; each row's values converted by the column types' result processors."""
        fetched: Iterable[Sequence[Any]] = _run(connection, self.sql, [self.binder.parameters(values)]) or []
        results = self.results
        return [tuple(v if p is None or v is None else p(v) for p, v in zip(results, r, strict=True)) for r in fetched]


@functools.cache
def prepared_select(statement: Select[Any], dialect: Dialect) -> PreparedSelect:
    """Compile ``statement`` for ``dialect`` once (the statement must not use expanding IN parameters)."""
    compiled = statement.compile(dialect=dialect)
    names = _bind_names(compiled, dialect)
    binds = compiled.binds
    processors = [_bind_processor(binds[name].type, dialect) for name in names]
    fixed = {name: binds[name].value for name in names if binds[name].value is not None}
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.selected_columns
    )
    return PreparedSelect(str(compiled), _Binder.of(names, dialect.positional, processors, fixed), results)
