"""The syntax tree of a search filter and of order_by clauses.

One parser (:mod:`mltrail.search.grammar`) builds these nodes from MLflow's filter language plus mltrail's
extensions (``OR``, parentheses, aggregates over a metric's history). Stores compile them to SQL
(:mod:`mltrail.search.to_sql`) or evaluate them in Python (:mod:`mltrail.search.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What an identifier refers to. ``attribute`` covers run/experiment/model attributes such as ``status``.
EntityKind = Literal["metric", "param", "tag", "attribute", "dataset"]

#: Aggregates over the full history of a metric (mltrail extension): ``min(metrics.loss) < 0.1``.
#: ``last`` is the latest value, the same as a plain ``metrics.loss``.
Aggregate = Literal["min", "max", "avg", "last"]

#: Comparators, upper-case. ``IN``/``NOT IN`` take a tuple; ``IS NULL``/``IS NOT NULL`` take no value.
Comparator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]

Value = str | float | int | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Identifier:
    """``<kind>.<key>``, normalised: aliases resolved (``run name`` -> ``run_name``, ``created`` -> ``start_time``)."""

    kind: EntityKind
    key: str
    aggregate: Aggregate | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """``identifier comparator value``; numeric kinds carry float values, string kinds str values."""

    identifier: Identifier
    comparator: Comparator
    value: Value = None


@dataclass(frozen=True, slots=True)
class And:
    """All clauses hold."""

    clauses: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one clause holds (mltrail extension)."""

    clauses: tuple[Expr, ...]


Expr = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One ``order_by`` clause: an identifier and a direction."""

    identifier: Identifier
    ascending: bool = True
