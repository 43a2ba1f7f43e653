"""Comparisons of the search language as SQL conditions, shared by every store's search compiler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from mltrail import errors
from mltrail.search.ast import And, Comparison, Expr, Or
from mltrail.store.sql.dialect import Dialect


def combine(expr: Expr, leaf: Callable[[Comparison], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The condition of a filter: its ``AND``/``OR`` tree with each comparison turned into SQL by ``leaf``."""
    if isinstance(expr, And):
        return sa.and_(*(combine(e, leaf) for e in expr.clauses))
    if isinstance(expr, Or):
        return sa.or_(*(combine(e, leaf) for e in expr.clauses))
    return leaf(expr)


def compare_string(column: ColumnElement[Any], comparison: Comparison, dialect: Dialect) -> ColumnElement[bool]:
    """A string comparison (``= != LIKE ILIKE IN NOT IN IS [NOT] NULL``) on ``column``."""
    op, value = comparison.comparator, comparison.value
    if op == "IS NULL":
        return column.is_(None)
    if op == "IS NOT NULL":
        return column.is_not(None)
    if op in ("IN", "NOT IN"):
        values = list(value) if isinstance(value, tuple) else [value]
        return column.in_(values) if op == "IN" else column.not_in(values)
    text = str(value)
    if op == "=":
        return column == text
    if op == "!=":
        return column != text
    if op == "LIKE":
        return dialect.like(column, text)
    if op == "ILIKE":
        return dialect.ilike(column, text)
    raise errors.invalid(f"Invalid comparator '{op}'")


def compare_number(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """A numeric comparison (``= != < <= > >=``) on ``column``."""
    number = float(value) if not isinstance(value, int) else value
    ops = {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    if op not in ops:
        raise errors.invalid(f"Invalid comparator '{op}' for a numeric value")
    return ops[op](number)
