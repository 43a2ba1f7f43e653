"""What each search kind accepts: prefixes, attribute keys, comparators, order_by keys and defaults.

A :class:`SearchTarget` is plain data; the parser (:mod:`mltrail.search.grammar`) validates a filter against
one, and stores use its ``default_order_by``/``tiebreak_order_by`` (through :meth:`SearchTarget.complete_order_by`)
so every store sorts the same way. The five targets below follow MLflow 3.x (``mlflow/utils/search_utils.py``,
``search_logged_model_utils.py`` and the SQLAlchemy stores); ``grammar.py``'s module docstring lists what
each one produces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from mltrail.search.ast import EntityKind, Identifier, OrderBy

#: The comparator groups, upper-case as in :data:`mltrail.search.ast.Comparator`.
NUMERIC_COMPARATORS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_COMPARATORS: frozenset[str] = frozenset({"=", "!=", "LIKE", "ILIKE"})
LIST_COMPARATORS: frozenset[str] = frozenset({"IN", "NOT IN"})
NULL_COMPARATORS: frozenset[str] = frozenset({"IS NULL", "IS NOT NULL"})

#: How a comparison is validated and typed: one of these per identifier (see :meth:`SearchTarget.category`).
Category = Literal["metric", "param", "tag", "dataset", "string_attribute", "numeric_attribute"]

#: The tag that tells prompts from models in the registry; a model without it is not a prompt.
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"


def _frozen(mapping: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


def _ob(key: str, ascending: bool) -> OrderBy:
    return OrderBy(Identifier("attribute", key), ascending)


@dataclass(frozen=True, eq=False, repr=False)
class SearchTarget:
    """What one search kind (runs, experiments, ...) accepts in ``filter`` and ``order_by``.

    Attributes:
        name: the kind in words, used in messages (``"runs"``).
        prefixes: accepted spellings of ``<prefix>.`` (lower-case; matched case-insensitively) -> entity kind.
        string_attributes: attribute keys compared as strings (canonical names).
        numeric_attributes: attribute keys compared as numbers (canonical names).
        attribute_aliases: other spellings of attribute keys -> canonical name (``created`` -> ``start_time``).
        comparators: the comparators each :data:`Category` accepts.
        key_comparators: per-attribute overrides of ``comparators`` (``experiment_id``: ``= != IN NOT IN``).
        list_attributes: string attributes that accept ``IN``/``NOT IN``; ``None`` means all of them.
        dataset_keys: keys allowed after ``datasets.``.
        integer_attributes: numeric attributes that take integers only (a fractional literal is an error).
        quoted_integers: whether numeric attributes also accept a quoted integer (``version_number = '3'``).
        aggregates: whether ``min/max/avg/last(metrics.<key>)`` is accepted (needs a metric prefix).
        order_by_kinds: entity kinds allowed in ``order_by``.
        order_by_attributes: attribute keys allowed in ``order_by`` (canonical names).
        order_by_aliases: extra spellings accepted only in ``order_by`` (``timestamp`` for registered models).
        default_order_by: the order when the request gives none.
        tiebreak_order_by: appended after the requested order, each unless its identifier is already there.
        missing_tag_defaults: tag key -> value a missing tag is taken to have when evaluating a comparison
            (the registry treats a missing ``mlflow.prompt.is_prompt`` as ``'false'``).
    """

    name: str
    prefixes: Mapping[str, EntityKind]
    string_attributes: frozenset[str]
    numeric_attributes: frozenset[str]
    comparators: Mapping[Category, frozenset[str]]
    attribute_aliases: Mapping[str, str] = field(default_factory=_frozen)
    key_comparators: Mapping[str, frozenset[str]] = field(default_factory=dict)
    list_attributes: frozenset[str] | None = None
    dataset_keys: frozenset[str] = frozenset()
    integer_attributes: frozenset[str] = frozenset()
    quoted_integers: bool = False
    aggregates: bool = False
    order_by_kinds: frozenset[EntityKind] = frozenset({"attribute"})
    order_by_attributes: frozenset[str] = frozenset()
    order_by_aliases: Mapping[str, str] = field(default_factory=_frozen)
    default_order_by: tuple[OrderBy, ...] = ()
    tiebreak_order_by: tuple[OrderBy, ...] = ()
    missing_tag_defaults: Mapping[str, str] = field(default_factory=_frozen)

    def __repr__(self) -> str:
        return f"SearchTarget({self.name!r})"

    @property
    def attributes(self) -> frozenset[str]:
        """Every attribute key accepted in a filter (canonical names)."""
        return self.string_attributes | self.numeric_attributes

    @property
    def kinds(self) -> frozenset[EntityKind]:
        """Every entity kind a filter may name (attributes are always allowed)."""
        return frozenset(self.prefixes.values()) | {"attribute"}

    def category(self, identifier: Identifier) -> Category:
        """How a comparison on ``identifier`` is validated and typed.

        Args:
            identifier: a validated identifier of this target.

        Returns:
            ``"metric"``, ``"param"``, ``"tag"``, ``"dataset"``, ``"numeric_attribute"`` or ``"string_attribute"``.
        """
        if identifier.kind == "attribute":
            return "numeric_attribute" if identifier.key in self.numeric_attributes else "string_attribute"
        return identifier.kind

    def comparators_for(self, identifier: Identifier) -> frozenset[str]:
        """The comparators a comparison on ``identifier`` may use.

        Args:
            identifier: a validated identifier of this target.

        Returns:
            The allowed comparators, upper-case.
        """
        if identifier.kind == "attribute" and identifier.key in self.key_comparators:
            return self.key_comparators[identifier.key]
        return self.comparators.get(self.category(identifier), frozenset())

    def complete_order_by(self, order_by: Sequence[OrderBy]) -> list[OrderBy]:
        """The full sort order a store applies: the request's (or the default), then the tie-breakers.

        Args:
            order_by: the parsed ``order_by`` of a request (possibly empty).

        Returns:
            ``order_by`` or :attr:`default_order_by`, followed by each :attr:`tiebreak_order_by` clause whose
            identifier is not already present.
        """
        result = list(order_by) or list(self.default_order_by)
        present = {clause.identifier for clause in result}
        for clause in self.tiebreak_order_by:
            if clause.identifier not in present:
                result.append(clause)
                present.add(clause.identifier)
        return result


_METRIC = {"metric": "metric", "metrics": "metric"}
_PARAM = {"param": "param", "params": "param", "parameter": "param", "parameters": "param"}
_TAG = {"tag": "tag", "tags": "tag"}
_ATTRIBUTE = {"attribute": "attribute", "attributes": "attribute", "attr": "attribute"}
_DATASET = {"dataset": "dataset", "datasets": "dataset"}


def _prefixes(*groups: Mapping[str, str]) -> Mapping[str, EntityKind]:
    merged: dict[str, EntityKind] = {}
    for group in groups:
        merged.update(group)  # type: ignore[arg-type]
    return MappingProxyType(merged)


_RUN_STRING_ATTRIBUTES = frozenset({"run_id", "run_name", "status", "user_id", "artifact_uri"})
_RUN_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})

#: ``search_runs``: metrics, params, tags, attributes (``run.`` too) and datasets.
RUNS = SearchTarget(
    name="runs",
    prefixes=_prefixes(_METRIC, _PARAM, _TAG, _ATTRIBUTE, {"run": "attribute"}, _DATASET),
    string_attributes=_RUN_STRING_ATTRIBUTES,
    numeric_attributes=_RUN_NUMERIC_ATTRIBUTES,
    attribute_aliases=_frozen(
        {
            "created": "start_time",
            "Created": "start_time",
            "run name": "run_name",
            "Run name": "run_name",
            "Run Name": "run_name",
        }
    ),
    comparators=MappingProxyType(
        {
            "metric": NUMERIC_COMPARATORS,
            "param": STRING_COMPARATORS | NULL_COMPARATORS,
            "tag": STRING_COMPARATORS | NULL_COMPARATORS,
            "dataset": STRING_COMPARATORS | LIST_COMPARATORS,
            "string_attribute": STRING_COMPARATORS | LIST_COMPARATORS,
            "numeric_attribute": NUMERIC_COMPARATORS,
        }
    ),
    list_attributes=frozenset({"run_id"}),
    dataset_keys=frozenset({"name", "digest", "context"}),
    aggregates=True,
    order_by_kinds=frozenset({"attribute", "metric", "param", "tag"}),
    order_by_attributes=_RUN_STRING_ATTRIBUTES | _RUN_NUMERIC_ATTRIBUTES,
    default_order_by=(_ob("start_time", False),),
    tiebreak_order_by=(_ob("start_time", False), _ob("run_id", True)),
)

#: ``search_experiments``: attributes and tags.
EXPERIMENTS = SearchTarget(
    name="experiments",
    prefixes=_prefixes(_ATTRIBUTE, _TAG),
    string_attributes=frozenset({"name", "experiment_id"}),
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    comparators=MappingProxyType(
        {
            "tag": STRING_COMPARATORS | NULL_COMPARATORS,
            "string_attribute": STRING_COMPARATORS | LIST_COMPARATORS,
            "numeric_attribute": NUMERIC_COMPARATORS,
        }
    ),
    key_comparators={"experiment_id": frozenset({"=", "!="}) | LIST_COMPARATORS},
    list_attributes=frozenset({"experiment_id"}),
    integer_attributes=frozenset({"creation_time", "last_update_time"}),
    order_by_attributes=frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    default_order_by=(_ob("creation_time", False), _ob("experiment_id", True)),
    tiebreak_order_by=(_ob("experiment_id", False),),
)

#: ``search_registered_models``: the ``name`` attribute and tags.
REGISTERED_MODELS = SearchTarget(
    name="registered models",
    prefixes=_prefixes(_ATTRIBUTE, _TAG),
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset(),
    comparators=MappingProxyType(
        {
            "tag": STRING_COMPARATORS,
            "string_attribute": STRING_COMPARATORS | LIST_COMPARATORS,
        }
    ),
    list_attributes=frozenset({"name"}),
    order_by_attributes=frozenset({"name", "creation_timestamp", "last_updated_timestamp"}),
    order_by_aliases=_frozen({"timestamp": "last_updated_timestamp"}),
    tiebreak_order_by=(_ob("name", True),),
    missing_tag_defaults=_frozen({IS_PROMPT_TAG_KEY: "false"}),
)

#: ``search_model_versions``: ``name``, ``run_id``, ``source_path``, ``version_number`` and tags.
MODEL_VERSIONS = SearchTarget(
    name="model versions",
    prefixes=_prefixes(_ATTRIBUTE, _TAG),
    string_attributes=frozenset({"name", "run_id", "source_path"}),
    numeric_attributes=frozenset({"version_number"}),
    comparators=MappingProxyType(
        {
            "tag": STRING_COMPARATORS,
            "string_attribute": STRING_COMPARATORS | LIST_COMPARATORS,
            "numeric_attribute": NUMERIC_COMPARATORS,
        }
    ),
    list_attributes=frozenset({"name", "run_id"}),
    integer_attributes=frozenset({"version_number"}),
    quoted_integers=True,
    order_by_attributes=frozenset({"name", "version_number", "creation_timestamp", "last_updated_timestamp"}),
    default_order_by=(
        _ob("last_updated_timestamp", False),
        _ob("name", True),
        _ob("version_number", False),
    ),
    tiebreak_order_by=(_ob("name", True), _ob("version_number", False)),
    missing_tag_defaults=_frozen({IS_PROMPT_TAG_KEY: "false"}),
)

_LOGGED_MODEL_STRING_ATTRIBUTES = frozenset(
    {
        "model_id",
        "experiment_id",
        "name",
        "artifact_location",
        "status",
        "lifecycle_stage",
        "model_type",
        "source_run_id",
        "status_message",
    }
)
_LOGGED_MODEL_NUMERIC_ATTRIBUTES = frozenset({"creation_timestamp", "last_updated_timestamp"})

#: ``search_logged_models``: attributes, metrics, params and tags; strings all take ``IN``.
LOGGED_MODELS = SearchTarget(
    name="logged models",
    prefixes=_prefixes(_METRIC, _PARAM, _TAG, _ATTRIBUTE),
    string_attributes=_LOGGED_MODEL_STRING_ATTRIBUTES,
    numeric_attributes=_LOGGED_MODEL_NUMERIC_ATTRIBUTES,
    attribute_aliases=_frozen(
        {
            "creation_time": "creation_timestamp",
            "creation_timestamp_ms": "creation_timestamp",
            "last_updated_timestamp_ms": "last_updated_timestamp",
        }
    ),
    comparators=MappingProxyType(
        {
            "metric": NUMERIC_COMPARATORS,
            "param": STRING_COMPARATORS | LIST_COMPARATORS,
            "tag": STRING_COMPARATORS | LIST_COMPARATORS,
            "string_attribute": STRING_COMPARATORS | LIST_COMPARATORS,
            "numeric_attribute": NUMERIC_COMPARATORS,
        }
    ),
    aggregates=True,
    order_by_kinds=frozenset({"attribute", "metric"}),
    order_by_attributes=_LOGGED_MODEL_STRING_ATTRIBUTES | _LOGGED_MODEL_NUMERIC_ATTRIBUTES,
    tiebreak_order_by=(_ob("creation_timestamp", False), _ob("model_id", True)),
)

#: Every target by its name.
TARGETS: Mapping[str, SearchTarget] = MappingProxyType(
    {t.name: t for t in (RUNS, EXPERIMENTS, REGISTERED_MODELS, MODEL_VERSIONS, LOGGED_MODELS)}
)
