"""MLflow's query-size limits for ``POST /graphql``, checked on the parsed document before it is validated or run.

The same limits as MLflow 3.17.2 (``mlflow/server/graphql/graphql_no_batching.py``), with its messages:

- at most :data:`MAX_DEPTH` levels of nested selections ("Query exceeds maximum depth of 10");
- at most :data:`MAX_SELECTIONS` field selections in all ("Query exceeds maximum total selections of 1000");
- at most ``MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS`` (10) root fields, ``__typename`` and aliases included;
- at most ``MLFLOW_SERVER_GRAPHQL_MAX_ALIASES`` (10) aliases among the fields of any one selection level.

Fragments count where they are spread: a fragment's fields merge into the level that spreads it (so aliases split
over several fragments still add up), and a fragment spread twice at one level counts once there, as in MLflow.

mltrail adds two bounds MLflow lacks: the query text is parsed with at most :data:`MAX_TOKENS` tokens (MLflow
parses any size first, so a huge query costs it the parse before the limits refuse it), and a batch (a JSON list of
operations, which MLflow 3.17.2 answers with a 500) holds at most :data:`MAX_BATCH` operations that share one
root-field budget: a batch may not do more work than a single query may.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

#: The deepest selection nesting accepted (the operation's own fields are level 1).
MAX_DEPTH = 10
#: The most field selections a document may hold, every level and fragment use counted.
MAX_SELECTIONS = 1000
#: MLflow's environment variables for the root-field and alias limits, and their default.
MAX_ROOT_FIELDS_ENV = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"
MAX_ALIASES_ENV = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"
DEFAULT_LIMIT = 10
#: The most operations one batched request may hold.
MAX_BATCH = 10
#: The most lexical tokens parsed from one query (MLflow's UI sends a few hundred; 1000 selections fit easily).
MAX_TOKENS = 20_000


class QueryTooLarge(Exception):
    """A document over one of the limits; ``str()`` is MLflow's message."""


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """What the limits measure of a document."""

    root_fields: int
    max_aliases: int


def env_limit(name: str) -> int:
    """The limit set by environment variable ``name`` (read on every request, as MLflow does); 10 when unset."""
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT


def _level_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[list[FieldNode], int]:
    """The fields of one selection level (inline fragments and spread fragments merged in) and their aliases."""
    fields: list[FieldNode] = []
    aliases = 0
    seen: set[str] = set()  # a fragment spread twice at one level counts once (and a cycle ends here)
    pending = deque(selection_set.selections)
    while pending:
        selection = pending.popleft()
        if isinstance(selection, FieldNode):
            fields.append(selection)
            aliases += selection.alias is not None
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if name not in seen and fragment is not None:
                seen.add(name)
                pending.extend(fragment.selection_set.selections)
    return fields, aliases


def scan(document: DocumentNode) -> QueryInfo:
    """Measure ``document``'s operations.

    Raises:
        QueryTooLarge: for a selection nested deeper than :data:`MAX_DEPTH` or more than :data:`MAX_SELECTIONS`
            selections (the walk stops there: a document of fragments that multiply costs no more than the limit).
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root_fields = max_aliases = selections = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        stack: list[tuple[SelectionSetNode, int]] = [(definition.selection_set, 1)]
        while stack:
            selection_set, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise QueryTooLarge(f"Query exceeds maximum depth of {MAX_DEPTH}")
            fields, aliases = _level_fields(selection_set, fragments)
            max_aliases = max(max_aliases, aliases)
            for field in fields:
                if depth == 1:
                    root_fields += 1
                if field.selection_set is not None:
                    stack.append((field.selection_set, depth + 1))
                selections += 1
                if selections > MAX_SELECTIONS:
                    raise QueryTooLarge(f"Query exceeds maximum total selections of {MAX_SELECTIONS}")
    return QueryInfo(root_fields, max_aliases)


def _over(what: str, env: str, limit: int, value: int) -> QueryTooLarge:
    return QueryTooLarge(
        f"GraphQL queries should have at most {limit} {what}, got {value} {what}. "
        f"To increase the limit, set the {env} environment variable."
    )


def check(document: DocumentNode) -> QueryInfo:
    """Check one document against every limit (root fields first, then aliases, as MLflow orders them).

    Raises:
        QueryTooLarge: with MLflow's message for the first limit exceeded.
    """
    info = scan(document)
    max_root_fields = env_limit(MAX_ROOT_FIELDS_ENV)
    if info.root_fields > max_root_fields:
        raise _over("root fields", MAX_ROOT_FIELDS_ENV, max_root_fields, info.root_fields)
    max_aliases = env_limit(MAX_ALIASES_ENV)
    if info.max_aliases > max_aliases:
        raise _over("aliases", MAX_ALIASES_ENV, max_aliases, info.max_aliases)
    return info


def check_batch(root_fields: Sequence[int]) -> None:
    """A batch's operations share one root-field budget (each operation was checked on its own already).

    Raises:
        QueryTooLarge: when the batch's operations hold more root fields together than one query may.
    """
    limit = env_limit(MAX_ROOT_FIELDS_ENV)
    total = sum(root_fields)
    if total > limit:
        raise QueryTooLarge(
            f"GraphQL queries should have at most {limit} root fields, got {total} root fields in a batch of "
            f"{len(root_fields)} operations. To increase the limit, set the {MAX_ROOT_FIELDS_ENV} environment "
            "variable."
        )


def check_batch_size(size: int) -> None:
    """Raise :class:`QueryTooLarge` for a batch of more than :data:`MAX_BATCH` operations, or none."""
    if size > MAX_BATCH:
        raise QueryTooLarge(f"GraphQL batches should have at most {MAX_BATCH} operations, got {size} operations.")
    if size == 0:
        raise QueryTooLarge("A GraphQL batch must hold at least one operation.")
