"""Compile registry searches to SQL: one statement selects a page of registered models or model versions.

Tag filters are ``EXISTS`` lookups on the tag tables' primary keys. A tag with a default for missing values
(``mlflow.prompt.is_prompt`` is ``'false'`` when absent, so ``!= 'true'`` matches ordinary models) also matches
rows without the tag whenever the default satisfies the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from mltrail import errors
from mltrail.search.ast import Comparison
from mltrail.search.evaluate import compare
from mltrail.search.grammar import parse_filter, parse_order_by
from mltrail.search.targets import MODEL_VERSIONS, REGISTERED_MODELS, SearchTarget
from mltrail.store.registry.sql.tables import model_version_tags, model_versions, registered_model_tags
from mltrail.store.registry.sql.tables import registered_models as rms
from mltrail.store.sql.compare import combine, compare_number, compare_string
from mltrail.store.sql.dialect import Dialect

mvs = model_versions

_RM_ORDER = {
    "name": rms.c.name,
    "creation_timestamp": rms.c.creation_time,
    "last_updated_timestamp": rms.c.last_updated_time,
}
_MV_ATTRIBUTES = {
    "name": rms.c.name,
    "run_id": mvs.c.run_id,
    "source_path": mvs.c.source,
    "version_number": mvs.c.version,
    "creation_timestamp": mvs.c.creation_time,
    "last_updated_timestamp": mvs.c.last_updated_time,
}


def _tag_filter(
    c: Comparison, target: SearchTarget, table: sa.Table, owner: Sequence[tuple[Any, Any]], dialect: Dialect
) -> ColumnElement[bool]:
    key = c.identifier.key
    link = [table.c[name] == column for name, column in owner]
    present = sa.exists().where(*link, table.c.key == key, compare_string(table.c.value, c, dialect))
    default = target.missing_tag_defaults.get(key)
    if default is not None and compare(default, c.comparator, c.value):
        return sa.or_(present, ~sa.exists().where(*link, table.c.key == key))
    return present


def _rm_leaf(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    if c.identifier.kind == "tag":
        return _tag_filter(c, REGISTERED_MODELS, registered_model_tags, [("rm_id", rms.c.rm_id)], dialect)
    if c.identifier.key != "name":
        raise errors.invalid(f"Invalid attribute key '{c.identifier.key}' specified.")
    return compare_string(rms.c.name, c, dialect)


def _mv_leaf(c: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    ident = c.identifier
    if ident.kind == "tag":
        owner = [("rm_id", mvs.c.rm_id), ("version", mvs.c.version)]
        return _tag_filter(c, MODEL_VERSIONS, model_version_tags, owner, dialect)
    column = _MV_ATTRIBUTES.get(ident.key)
    if column is None:
        raise errors.invalid(f"Invalid attribute key '{ident.key}' specified.")
    if ident.key == "version_number":
        return compare_number(column, c.comparator, int(c.value))  # type: ignore[arg-type]
    return compare_string(column, c, dialect)


def registered_models_query(
    filter_string: str | None, order_by: Sequence[str] | None, dialect: Dialect
) -> sa.Select[Any]:
    """The statement that selects matching registered models in order (add LIMIT/OFFSET for a page).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    expr = parse_filter(filter_string, REGISTERED_MODELS)
    clauses = REGISTERED_MODELS.complete_order_by(parse_order_by(order_by, REGISTERED_MODELS))
    query = sa.select(rms)
    if expr is not None:
        query = query.where(combine(expr, lambda c: _rm_leaf(c, dialect)))
    order = [_RM_ORDER[c.identifier.key].asc() if c.ascending else _RM_ORDER[c.identifier.key].desc() for c in clauses]
    return query.order_by(*order)


#: The columns a model-version page selects: every version column plus its model's name.
MV_COLUMNS = (*mvs.c, rms.c.name)


def model_versions_query(filter_string: str | None, order_by: Sequence[str] | None, dialect: Dialect) -> sa.Select[Any]:
    """The statement that selects matching model versions (with their model's name) in order.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    expr = parse_filter(filter_string, MODEL_VERSIONS)
    clauses = MODEL_VERSIONS.complete_order_by(parse_order_by(order_by, MODEL_VERSIONS))
    query = sa.select(*MV_COLUMNS).select_from(mvs.join(rms, rms.c.rm_id == mvs.c.rm_id))
    if expr is not None:
        query = query.where(combine(expr, lambda c: _mv_leaf(c, dialect)))
    order = []
    for clause in clauses:
        column = _MV_ATTRIBUTES[clause.identifier.key]
        order.append(column.asc() if clause.ascending else column.desc())
    return query.order_by(*order)


#: Bound per call by the page statements of :func:`registered_models_page` and :func:`model_versions_page`.
PAGE_LIMIT, PAGE_OFFSET = "page_limit", "page_offset"


def _paged(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.limit(sa.bindparam(PAGE_LIMIT, type_=sa.Integer)).offset(sa.bindparam(PAGE_OFFSET, type_=sa.Integer))


@lru_cache(maxsize=256)
def _registered_models_page(
    filter_string: str | None, order_by: tuple[str, ...] | None, dialect: Dialect
) -> sa.Select[Any]:
    return _paged(registered_models_query(filter_string, order_by, dialect))


@lru_cache(maxsize=256)
def _model_versions_page(
    filter_string: str | None, order_by: tuple[str, ...] | None, dialect: Dialect
) -> sa.Select[Any]:
    return _paged(model_versions_query(filter_string, order_by, dialect))


def _cache_key(filter_string: Any, order_by: Any) -> tuple[Any, ...] | None:
    """``(filter_string, order_by as a tuple)`` when both are plain strings (so the statement can be cached)."""
    if filter_string is not None and not isinstance(filter_string, str):
        return None
    if order_by is None:
        return (filter_string, None)
    if isinstance(order_by, str) or not all(isinstance(clause, str) for clause in order_by):
        return None
    return (filter_string, tuple(order_by))


def registered_models_page(
    filter_string: str | None, order_by: Sequence[str] | None, dialect: Dialect
) -> sa.Select[Any]:
    """:func:`registered_models_query` with bound LIMIT/OFFSET (:data:`PAGE_LIMIT`, :data:`PAGE_OFFSET`), cached.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    key = _cache_key(filter_string, order_by)
    if key is None:
        return _paged(registered_models_query(filter_string, order_by, dialect))
    return _registered_models_page(*key, dialect)


def model_versions_page(filter_string: str | None, order_by: Sequence[str] | None, dialect: Dialect) -> sa.Select[Any]:
    """:func:`model_versions_query` with bound LIMIT/OFFSET (:data:`PAGE_LIMIT`, :data:`PAGE_OFFSET`), cached.

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a bad filter or order_by.
    """
    key = _cache_key(filter_string, order_by)
    if key is None:
        return _paged(model_versions_query(filter_string, order_by, dialect))
    return _model_versions_page(*key, dialect)
