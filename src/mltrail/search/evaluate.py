"""Evaluate a parsed filter in Python, and sort by parsed ``order_by`` clauses, with MLflow's semantics.

For stores that cannot compile to SQL (and for the registry). The caller supplies a *lookup*: a function from
an :class:`~mltrail.search.ast.Identifier` to the object's value for it, for example::

    def lookup_for(run: Run) -> Callable[[Identifier], object]:
        def lookup(identifier: Identifier) -> object:
            if identifier.kind == "metric":
                return run.data.metrics.get(identifier.key)   # or min/max/avg of the history
            if identifier.kind == "param":
                return run.data.params.get(identifier.key)
            ...
        return lookup

    selected = [run for run in runs if matches(expr, lookup_for(run), target=RUNS)]
    ordered = sorted(selected, key=lambda run: sort_key(RUNS.complete_order_by(order_by), lookup_for(run)))

The lookup returns ``None`` for a missing value (a param, tag or metric the object does not have), or a ``list``
of candidate values where an object has several (a run's datasets): such a comparison holds if it holds for any
of them, and an empty list counts as missing. For an identifier with an ``aggregate`` the lookup returns the
aggregate of the metric's history.

Semantics (MLflow's): ``=``/``!=`` and ``LIKE`` are case-sensitive, ``ILIKE`` is not; in LIKE patterns ``%``
matches any run of characters and ``_`` exactly one. A missing value fails every comparison except
``IS NULL`` -- except a tag listed in :attr:`SearchTarget.missing_tag_defaults`, which takes its default
(the registry's missing ``mlflow.prompt.is_prompt`` matches ``!= 'true'`` and ``= 'false'``). Enum values compare
by their ``value``. Sorting puts NaN and then ``None`` last in both directions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any

from mltrail import errors
from mltrail.search.ast import And, Comparison, Expr, Identifier, Or, OrderBy
from mltrail.search.targets import SearchTarget

__all__ = ["compare", "like", "matches", "sort_key"]

#: Looks up one object's value for an identifier (``None`` when missing; a ``list`` for several values).
Lookup = Callable[[Identifier], object]


@lru_cache(maxsize=512)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def like(value: str, pattern: str, *, ignore_case: bool = False) -> bool:
    """SQL ``LIKE`` (or ``ILIKE`` with ``ignore_case``): ``%`` is any run of characters, ``_`` one character.

    Args:
        value: the string tested.
        pattern: the LIKE pattern; there is no escape character, as in MLflow.
        ignore_case: compare case-insensitively (``ILIKE``).

    Returns:
        Whether the whole of ``value`` matches ``pattern``.
    """
    return _like_regex(pattern, ignore_case).fullmatch(value) is not None


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def _as_number(value: object) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_NUMERIC_OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compare(actual: object, comparator: str, value: object) -> bool:
    """Apply one comparator to a present value.

    Args:
        actual: the object's value (not ``None``); enums compare by their value, and a number meets a string
            value as its ``str`` and a string meets a numeric value as a float (failing if it is not one).
        comparator: an upper-case :data:`~mltrail.search.ast.Comparator` other than ``IS [NOT] NULL``.
        value: the comparison's value: a number, a string or (for ``IN``/``NOT IN``) a tuple of strings.

    Returns:
        Whether the comparison holds.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for an unknown comparator.
    """
    actual = _plain(actual)
    if comparator in ("IN", "NOT IN"):
        candidates = value if isinstance(value, tuple) else (value,)
        found = (actual if isinstance(actual, str) else str(actual)) in candidates
        return found if comparator == "IN" else not found
    if comparator in ("LIKE", "ILIKE"):
        text = actual if isinstance(actual, str) else str(actual)
        return like(text, str(value), ignore_case=comparator == "ILIKE")
    operation = _NUMERIC_OPERATORS.get(comparator)
    if operation is None:
        raise errors.invalid(f"Invalid comparator '{comparator}'")
    if isinstance(value, str):
        return operation(actual if isinstance(actual, str) else str(actual), value)
    number = _as_number(actual)
    if number is None:
        return False
    return operation(number, value)


def _missing_default(identifier: Identifier, target: SearchTarget | None) -> object:
    if target is not None and identifier.kind == "tag":
        return target.missing_tag_defaults.get(identifier.key)
    return None


def _matches_comparison(comparison: Comparison, lookup: Lookup, target: SearchTarget | None) -> bool:
    actual = lookup(comparison.identifier)
    if isinstance(actual, list):
        values = [v for v in actual if v is not None]
        if comparison.comparator == "IS NULL":
            return not values
        if comparison.comparator == "IS NOT NULL":
            return bool(values)
        return any(compare(v, comparison.comparator, comparison.value) for v in values)
    if actual is None:
        actual = _missing_default(comparison.identifier, target)
    if comparison.comparator == "IS NULL":
        return actual is None
    if comparison.comparator == "IS NOT NULL":
        return actual is not None
    if actual is None:
        return False
    return compare(actual, comparison.comparator, comparison.value)


def matches(expr: Expr | None, lookup: Lookup, *, target: SearchTarget | None = None) -> bool:
    """Whether one object satisfies a parsed filter.

    Args:
        expr: the filter from :func:`~mltrail.search.grammar.parse_filter`; ``None`` matches everything.
        lookup: the object's value for an identifier: ``None`` when missing, a ``list`` when it has several.
        target: the search target, for its ``missing_tag_defaults`` (the registry's prompt tag); ``None``
            treats every missing value as missing.

    Returns:
        ``True`` if the object satisfies ``expr``.

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for a node that is not part of the syntax tree.
    """
    if expr is None:
        return True
    if isinstance(expr, Comparison):
        return _matches_comparison(expr, lookup, target)
    if isinstance(expr, And):
        return all(matches(clause, lookup, target=target) for clause in expr.clauses)
    if isinstance(expr, Or):
        return any(matches(clause, lookup, target=target) for clause in expr.clauses)
    raise errors.invalid(f"Invalid search expression {expr!r}")


class _SortValue:
    """One sort column: orders present values by direction, then NaN, then ``None``, in either direction."""

    __slots__ = ("ascending", "rank", "value")

    def __init__(self, value: object, ascending: bool) -> None:
        value = _plain(value)
        self.ascending = ascending
        self.value = value
        if value is None:
            self.rank = 2
        elif isinstance(value, float) and math.isnan(value):
            self.rank = 1
        else:
            self.rank = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _SortValue):
            return NotImplemented
        return self.rank == other.rank and (self.rank != 0 or self.value == other.value)

    def __hash__(self) -> int:
        return hash((self.rank, self.value if self.rank == 0 else None))

    def __lt__(self, other: _SortValue) -> bool:
        if self.rank != other.rank:
            return self.rank < other.rank
        if self.rank != 0:
            return False
        first, second = (self.value, other.value) if self.ascending else (other.value, self.value)
        try:
            return bool(first < second)  # type: ignore[operator]
        except TypeError:
            return (type(first).__name__, str(first)) < (type(second).__name__, str(second))

    def __repr__(self) -> str:
        return f"_SortValue({self.value!r}, ascending={self.ascending})"


def sort_key(order_by: Sequence[OrderBy], lookup: Lookup) -> tuple[_SortValue, ...]:
    """A sort key for one object, for ``sorted(..., key=...)`` with mixed directions.

    Args:
        order_by: the clauses, usually ``target.complete_order_by(parse_order_by(...))`` so that the target's
            default order and tie-breakers apply.
        lookup: the object's value for an identifier (``None`` when missing).

    Returns:
        A tuple that compares clause by clause in each clause's direction, with NaN and then ``None`` last.
    """
    return tuple(_SortValue(lookup(clause.identifier), clause.ascending) for clause in order_by)
