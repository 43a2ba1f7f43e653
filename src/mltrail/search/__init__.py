"""The search language: parse once, compile to SQL or evaluate in Python.

- :mod:`mltrail.search.ast`: the syntax tree (``Identifier``, ``Comparison``, ``And``, ``Or``, ``OrderBy``).
- :mod:`mltrail.search.targets`: what each search kind accepts (``RUNS``, ``EXPERIMENTS``, ...).
- :mod:`mltrail.search.grammar`: ``parse_filter`` and ``parse_order_by``.
- :mod:`mltrail.search.evaluate`: ``matches`` and ``sort_key`` for stores that evaluate in Python.
- :mod:`mltrail.search.paging`: page tokens and ``max_results`` checks.

Everything here is pure Python with no third-party imports.
"""

from __future__ import annotations

from mltrail.search.ast import And, Comparison, Expr, Identifier, Or, OrderBy
from mltrail.search.evaluate import matches, sort_key
from mltrail.search.grammar import parse_filter, parse_order_by
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results
from mltrail.search.targets import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    SearchTarget,
)

__all__ = [
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "And",
    "Comparison",
    "Expr",
    "Identifier",
    "Or",
    "OrderBy",
    "SearchTarget",
    "decode_page_token",
    "encode_page_token",
    "matches",
    "parse_filter",
    "parse_order_by",
    "sort_key",
    "validate_max_results",
]
