"""The search language: a hand-written recursive-descent parser from filter strings to :mod:`~mltrail.search.ast`.

Grammar (keywords case-insensitive; whitespace free between tokens, never inside an identifier)::

    filter      := or_expr END
    or_expr     := and_expr ("OR" and_expr)*                       -- OR: mltrail extension
    and_expr    := primary ("AND" primary)*                        -- AND binds tighter than OR
    primary     := "(" or_expr ")" | comparison                    -- parentheses: mltrail extension
    comparison  := operand ( op value | ("LIKE" | "ILIKE") string | ["NOT"] "IN" list
                           | "IS" ["NOT"] "NULL" )
    op          := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="     -- "<>" is read as "!="
    operand     := aggregate "(" identifier ")" | identifier        -- aggregates: mltrail extension
    aggregate   := "min" | "max" | "avg" | "last"
    identifier  := prefix "." key | attribute
    prefix      := word | `quoted` | "quoted"                      -- e.g. metrics, `params`
    key         := `quoted` | "quoted" | 'quoted' | [\\w./:-]+     -- everything after the first dot
    attribute   := word | word word (a known alias: run name) | `quoted` | "quoted"
    value       := number | 'string' | "string"
    list        := "(" string ("," string)* [","] ")"

Strings and quoted keys end at the same quote; inside, a doubled quote (``'it''s'``) or a backslash before the
quote (``'it\\'s'``) is one quote, and ``\\\\`` is one backslash; any other backslash is kept as is (so LIKE
patterns pass through). Numbers: optional sign, digits, optional fraction and exponent (``-1``, ``.5``, ``1e-3``).

What the parser produces (the contract for :mod:`mltrail.search.to_sql` and :mod:`mltrail.search.evaluate`):

- ``parse_filter`` returns ``None`` for an empty filter, a bare :class:`~mltrail.search.ast.Comparison` for one
  clause, else :class:`~mltrail.search.ast.And`/:class:`~mltrail.search.ast.Or` with at least two clauses,
  flattened (an ``And`` never holds an ``And`` directly; same for ``Or``).
- Comparators are upper-case ``Comparator`` literals; ``<>`` becomes ``!=``. ``IS NULL``/``IS NOT NULL`` carry
  ``value=None``; ``IN``/``NOT IN`` carry a non-empty ``tuple[str, ...]``.
- ``Identifier.kind`` is ``metric``, ``param``, ``tag``, ``attribute`` or ``dataset``; prefix aliases are
  resolved and the key is unquoted and unescaped. Attribute keys are canonical (aliases resolved).
- ``Identifier.aggregate`` is ``"min"``, ``"max"`` or ``"avg"`` (full metric history) or ``None``; ``last(...)``
  is the latest value, so it parses to the plain identifier with ``aggregate=None``. Only metrics take one.

Per target (see :mod:`mltrail.search.targets`), ``kind: keys -> comparators -> value type``:

``RUNS``
    - ``metric``: any key -> ``= != < <= > >=`` -> ``float``; aggregates allowed.
    - ``param``, ``tag``: any key -> ``= != LIKE ILIKE`` -> ``str``; ``IS NULL``, ``IS NOT NULL`` -> ``None``.
    - ``attribute`` (string): ``run_id run_name status user_id artifact_uri`` -> ``= != LIKE ILIKE`` -> ``str``;
      ``run_id`` only also ``IN``/``NOT IN`` -> ``tuple[str, ...]``. Aliases ``run name``/``Run name``/
      ``Run Name`` -> ``run_name``.
    - ``attribute`` (numeric): ``start_time end_time`` -> ``= != < <= > >=`` -> ``int`` (``float`` when the
      literal has a fraction or exponent). Aliases ``created``/``Created`` -> ``start_time``.
    - ``dataset``: ``name digest context`` -> ``= != LIKE ILIKE`` -> ``str``; ``IN NOT IN`` -> tuple.
      (``context`` is the ``mlflow.data.context`` tag of the dataset input; a run matches if any input does.)
    - order_by: metrics (aggregates allowed), params, tags, the seven attributes. Default ``start_time DESC``;
      tie-breaks ``start_time DESC`` (unless present), ``run_id ASC``.
``EXPERIMENTS``
    - ``tag``: ``= != LIKE ILIKE`` -> ``str``; ``IS NULL``, ``IS NOT NULL``.
    - ``attribute``: ``name`` -> ``= != LIKE ILIKE`` -> ``str``; ``experiment_id`` -> ``= !=`` -> ``str`` and
      ``IN NOT IN`` -> tuple (values stay strings; the store converts); ``creation_time last_update_time`` ->
      numeric comparators -> ``int`` only.
    - order_by: those four attributes. Default ``creation_time DESC, experiment_id ASC``; tie-break
      ``experiment_id DESC``.
``REGISTERED_MODELS``
    - ``attribute``: ``name`` -> ``= != LIKE ILIKE`` -> ``str``, ``IN NOT IN`` -> tuple.
    - ``tag``: ``= != LIKE ILIKE`` -> ``str`` (no ``IS NULL``). A missing ``mlflow.prompt.is_prompt`` tag is
      ``'false'`` (:attr:`SearchTarget.missing_tag_defaults`).
    - order_by: ``name creation_timestamp last_updated_timestamp`` (legacy ``timestamp`` ->
      ``last_updated_timestamp``). No default; tie-break ``name ASC``.
``MODEL_VERSIONS``
    - ``attribute``: ``name``, ``run_id`` -> ``= != LIKE ILIKE`` -> ``str``, ``IN NOT IN`` -> tuple;
      ``source_path`` (the version's ``source``) -> ``= != LIKE ILIKE`` -> ``str``; ``version_number`` (the
      version) -> numeric comparators -> ``int`` (a quoted integer such as ``'3'`` is accepted too).
    - ``tag``: as for registered models, with the same missing ``mlflow.prompt.is_prompt`` rule.
    - order_by: ``name version_number creation_timestamp last_updated_timestamp``. Default
      ``last_updated_timestamp DESC, name ASC, version_number DESC``; tie-breaks ``name ASC``,
      ``version_number DESC``.
``LOGGED_MODELS``
    - ``metric``: numeric comparators -> ``float``; aggregates allowed.
    - ``param``, ``tag``: ``= != LIKE ILIKE`` -> ``str``, ``IN NOT IN`` -> tuple.
    - ``attribute`` (string): ``model_id experiment_id name artifact_location status lifecycle_stage
      model_type source_run_id status_message`` -> ``= != LIKE ILIKE IN NOT IN``.
    - ``attribute`` (numeric): ``creation_timestamp last_updated_timestamp`` (aliases ``creation_time``,
      ``creation_timestamp_ms``, ``last_updated_timestamp_ms``) -> numeric comparators -> ``int``/``float``.
    - order_by: attributes and metrics. Tie-breaks ``creation_timestamp DESC``, ``model_id ASC``.

Limits, checked before any SQL is built (so a database never sees a statement it cannot run): a filter has at most
:data:`MAX_FILTER_LENGTH` characters and :data:`MAX_COMPARISONS` comparisons, a ``LIKE``/``ILIKE`` pattern at most
:data:`MAX_LIKE_PATTERN_LENGTH` characters (SQLite refuses patterns over 50,000 bytes), ``order_by`` at most
:data:`MAX_ORDER_BY_CLAUSES` clauses; no text may hold a NUL character (PostgreSQL text cannot).

Every error is :class:`~mltrail.errors.MltrailError` with ``INVALID_PARAMETER_VALUE``; messages follow
MLflow's wording and end with where the problem is (``at character N of '<filter>'``; a filter over
1,000 characters is shown cut short).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NoReturn, cast

from mltrail import errors
from mltrail.search.ast import And, Comparator, Comparison, Expr, Identifier, Or, OrderBy, Value
from mltrail.search.targets import (
    EXPERIMENTS,
    LIST_COMPARATORS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    NULL_COMPARATORS,
    REGISTERED_MODELS,
    RUNS,
    SearchTarget,
)

__all__ = [
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MAX_COMPARISONS",
    "MAX_FILTER_LENGTH",
    "MAX_LIKE_PATTERN_LENGTH",
    "MAX_ORDER_BY_CLAUSES",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "SearchTarget",
    "parse_filter",
    "parse_order_by",
]

#: Longest filter accepted, in characters (an ``IN`` list of ~1,800 run ids fits).
MAX_FILTER_LENGTH = 65536
#: Most comparisons in one filter: SQLite refuses expression trees deeper than 1,000 (each ``OR`` adds levels).
MAX_COMPARISONS = 200
#: Longest ``LIKE``/``ILIKE`` pattern, in characters: 4 bytes each stays under SQLite's 50,000-byte limit.
MAX_LIKE_PATTERN_LENGTH = 10000
#: Most ``order_by`` clauses in one search: each key may be a join, and MariaDB joins at most 61 tables.
MAX_ORDER_BY_CLAUSES = 20
_MAX_SHOWN = 1000

_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[\w./:\-]+")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_INTEGER = re.compile(r"[-+]?\d+")
_OPERATOR = re.compile(r"<=|>=|!=|<>|==|=|<|>")
_RAW = re.compile(r"\(|\)|,|'(?:[^'\\]|\\.|'')*'?|\"(?:[^\"\\]|\\.|\"\")*\"?|[^\s(),]+")

_AGGREGATES = frozenset({"min", "max", "avg", "last"})
_MAX_DEPTH = 64
_STRING_QUOTES = "'\""
_KEY_QUOTES = "`\"'"
_PREFIX_QUOTES = '`"'
_ALL_COMPARATORS = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL"
_VALUE_NAMES = {"param": "parameter", "tag": "tag"}


def _set_text(values: frozenset[str] | set[str] | Sequence[str]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"


class _Parser:
    """Parses one filter or one order_by clause; ``what`` names it in messages."""

    def __init__(self, text: str, target: SearchTarget, what: str) -> None:
        self.text = text
        self.target = target
        self.what = what
        self.pos = 0
        self.depth = 0
        self.comparisons = 0
        self.order_by = what != "filter"
        self.shown = text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."

    # ---------------------------------------------------------------- errors

    def _where(self, pos: int) -> str:
        return f"at character {pos + 1} of {self.what} '{self.shown}'"

    def fail(self, message: str, pos: int) -> NoReturn:
        """A semantic error: MLflow's message, then where."""
        raise errors.invalid(f"{message} ({self._where(pos)})")

    def syntax(self, detail: str, pos: int | None = None) -> NoReturn:
        """A syntax error: what was expected and where."""
        pos = self.pos if pos is None else pos
        raise errors.invalid(f"Error on parsing {self.what} '{self.shown}': {detail} at character {pos + 1}")

    def found(self, pos: int | None = None) -> str:
        """The token at ``pos`` for messages."""
        pos = self.skip() if pos is None else pos
        if pos >= len(self.text):
            return f"the end of the {self.what}"
        match = _RAW.match(self.text, pos)
        return repr(match.group() if match else self.text[pos])

    # ---------------------------------------------------------------- scanning

    def skip(self) -> int:
        """Skip whitespace; return the new position."""
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos
        return self.pos

    def at_end(self) -> bool:
        return self.skip() >= len(self.text)

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos : self.pos + 1]

    def peek_word(self) -> str | None:
        match = _WORD.match(self.text, self.skip())
        return match.group() if match else None

    def keyword(self, word: str) -> bool:
        """Consume ``word`` (case-insensitive, whole word) if it comes next."""
        match = _WORD.match(self.text, self.skip())
        if match and match.group().upper() == word:
            self.pos = match.end()
            return True
        return False

    def quoted(self) -> str:
        """Read a quoted string or key at ``pos`` (its quote is the current character); return it unescaped."""
        quote, start = self.text[self.pos], self.pos
        out: list[str] = []
        i, n = self.pos + 1, len(self.text)
        while i < n:
            char = self.text[i]
            if char == "\\" and i + 1 < n and self.text[i + 1] in (quote, "\\"):
                out.append(self.text[i + 1])
                i += 2
            elif char == quote:
                if i + 1 < n and self.text[i + 1] == quote:
                    out.append(quote)
                    i += 2
                else:
                    self.pos = i + 1
                    return "".join(out)
            else:
                out.append(char)
                i += 1
        self.syntax(f"unterminated {quote}quoted{quote} text", start)

    # ---------------------------------------------------------------- expressions

    def parse_or(self) -> Expr:
        clauses = [self.parse_and()]
        while self.keyword("OR"):
            clauses.append(self.parse_and())
        return _combine(Or, clauses)

    def parse_and(self) -> Expr:
        clauses = [self.parse_primary()]
        while self.keyword("AND"):
            clauses.append(self.parse_primary())
        return _combine(And, clauses)

    def parse_primary(self) -> Expr:
        if self.peek() != "(":
            return self.parse_comparison()
        open_pos = self.pos
        self.pos += 1
        if self.peek() == ")":
            self.syntax("empty parentheses")
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.syntax(f"parentheses nested deeper than {_MAX_DEPTH} levels", open_pos)
        expr = self.parse_or()
        self.depth -= 1
        if self.peek() != ")":
            self.syntax(
                f"unbalanced parentheses: expected ')' to close the '(' at character {open_pos + 1} "
                f"or AND/OR, found {self.found()}"
            )
        self.pos += 1
        return expr

    def parse_comparison(self) -> Comparison:
        start = self.skip()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            self.fail(f"The filter has more than {MAX_COMPARISONS} comparisons; split the search", start)
        identifier = self.parse_operand()
        operand_text = self.text[start : self.pos]
        comparator_pos = self.skip()
        comparator = self.parse_comparator(operand_text)
        allowed = self.target.comparators_for(identifier)
        if comparator not in allowed:
            self.fail(
                f"Invalid comparator '{comparator}' not one of '{_set_text(allowed)}' "
                f"for {_describe(identifier)} when searching {self.target.name}",
                comparator_pos,
            )
        if comparator in NULL_COMPARATORS:
            return Comparison(identifier, cast(Comparator, comparator), None)
        if comparator in LIST_COMPARATORS:
            value: Value = self.parse_list(identifier)
        else:
            value_pos = self.skip()
            value = self.parse_value(identifier)
            if comparator in ("LIKE", "ILIKE") and isinstance(value, str) and len(value) > MAX_LIKE_PATTERN_LENGTH:
                self.fail(
                    f"The {comparator} pattern has {len(value)} characters; at most {MAX_LIKE_PATTERN_LENGTH} "
                    "are allowed",
                    value_pos,
                )
        return Comparison(identifier, cast(Comparator, comparator), value)

    def parse_comparator(self, operand_text: str) -> str:
        pos = self.skip()
        operator = _OPERATOR.match(self.text, pos)
        if operator:
            self.pos = operator.end()
            return "!=" if operator.group() == "<>" else operator.group()
        word = self.peek_word()
        upper = word.upper() if word else None
        if upper in ("LIKE", "ILIKE", "IN", "RLIKE"):
            self.keyword(upper)
            return upper
        if upper == "NOT":
            self.keyword("NOT")
            if self.keyword("IN"):
                return "NOT IN"
            self.syntax(f"expected IN after NOT, found {self.found()}")
        if upper == "IS":
            self.keyword("IS")
            negated = self.keyword("NOT")
            if self.keyword("NULL"):
                return "IS NOT NULL" if negated else "IS NULL"
            self.syntax(f"expected {'NULL' if negated else 'NULL or NOT NULL'} after IS, found {self.found()}")
        self.syntax(f"expected a comparator ({_ALL_COMPARATORS}) after '{operand_text}', found {self.found()}", pos)

    # ---------------------------------------------------------------- identifiers

    def parse_operand(self) -> Identifier:
        """``identifier`` or ``aggregate(identifier)``."""
        start = self.skip()
        word = _WORD.match(self.text, start)
        if word:
            after = _WS.match(self.text, word.end())
            paren = after.end() if after else word.end()
            if self.text[paren : paren + 1] == "(":
                name = word.group().lower()
                if name not in _AGGREGATES:
                    self.fail(
                        f"Unknown function '{word.group()}'; the aggregates over a metric's history are "
                        f"{', '.join(sorted(_AGGREGATES))}",
                        start,
                    )
                self.pos = paren + 1
                inner_pos = self.skip()
                identifier = self.parse_identifier()
                if self.peek() != ")":
                    self.syntax(f"expected ')' to close {name}(, found {self.found()}")
                self.pos += 1
                return self.aggregate(name, identifier, start, inner_pos)
        return self.parse_identifier()

    def aggregate(self, name: str, identifier: Identifier, start: int, inner_pos: int) -> Identifier:
        if not self.target.aggregates:
            self.fail(f"Aggregates such as {name}(...) are not supported when searching {self.target.name}", start)
        if identifier.kind != "metric":
            self.fail(
                f"Aggregate {name}(...) applies to metrics only, not to {_describe(identifier)}; "
                f"use {name}(metrics.<key>)",
                inner_pos,
            )
        return Identifier("metric", identifier.key, None if name == "last" else name)  # type: ignore[arg-type]

    def parse_identifier(self) -> Identifier:
        start = self.skip()
        head, quoted = self.parse_name()
        if head is None:
            self.syntax(
                "expected an identifier such as 'metrics.<key>', 'params.<key>', 'tags.<key>' or an attribute, "
                f"found {self.found()}"
            )
        if self.text[self.pos : self.pos + 1] == ".":
            self.pos += 1
            kind = self.target.prefixes.get(head.lower())
            if kind is None:
                valid = sorted(self.target.prefixes)
                self.fail(
                    f"Invalid entity type '{head}'. Valid values are {valid} (or a bare attribute key)",
                    start,
                )
            key_pos = self.pos
            key = self.parse_key(head)
        else:
            kind, key_pos, key = "attribute", start, head
            if not quoted:
                key = self.multiword_alias(head)
        return self.validate_identifier(kind, key, key_pos)

    def parse_name(self) -> tuple[str | None, bool]:
        """A word or a quoted name (backticks or double quotes); returns ``(name, was_quoted)``."""
        char = self.text[self.pos : self.pos + 1]
        if char and char in _PREFIX_QUOTES:
            return self.quoted(), True
        match = _WORD.match(self.text, self.pos)
        if not match:
            return None, False
        self.pos = match.end()
        return match.group(), False

    def parse_key(self, prefix: str) -> str:
        char = self.text[self.pos : self.pos + 1]
        if char and char in _KEY_QUOTES:
            key = self.quoted()
        else:
            match = _KEY.match(self.text, self.pos)
            if not match:
                self.syntax(f"expected a key after '{prefix}.', found {self.found(self.pos)}")
            self.pos = match.end()
            key = match.group()
        if not key:
            self.syntax(f"empty key after '{prefix}.'")
        return key

    def multiword_alias(self, head: str) -> str:
        """Consume the second word of a known two-word alias such as ``run name``."""
        saved = self.pos
        following = self.peek_word()
        if following and f"{head} {following}" in self.attribute_aliases():
            self.keyword(following.upper())
            return f"{head} {following}"
        self.pos = saved
        return head

    def attribute_aliases(self) -> dict[str, str]:
        aliases = dict(self.target.attribute_aliases)
        if self.order_by:
            aliases.update(self.target.order_by_aliases)
        return aliases

    def validate_identifier(self, kind: str, key: str, pos: int) -> Identifier:
        target = self.target
        if kind == "attribute":
            key = self.attribute_aliases().get(key, key)
            valid = target.order_by_attributes if self.order_by else target.attributes
            if key not in valid:
                self.fail(f"Invalid attribute key '{key}' specified. Valid keys are '{_set_text(valid)}'", pos)
        elif kind == "dataset" and key not in target.dataset_keys:
            self.fail(f"Invalid dataset key '{key}' specified. Valid keys are '{_set_text(target.dataset_keys)}'", pos)
        return Identifier(kind, key)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- values

    def raw(self) -> str:
        """The next raw token, for messages."""
        match = _RAW.match(self.text, self.skip())
        return match.group() if match else self.found()

    def parse_value(self, identifier: Identifier) -> Value:
        category = self.target.category(identifier)
        pos = self.skip()
        if pos >= len(self.text):
            self.syntax(f"expected a value after the comparator, found {self.found()}")
        char = self.text[pos]
        number = _NUMBER.match(self.text, pos)
        if category == "metric":
            if not number:
                self.fail(f"Expected numeric value type for metric. Found {self.raw()}", pos)
            self.pos = number.end()
            return float(number.group())
        if category == "numeric_attribute":
            return self.numeric_attribute_value(identifier.key, number, pos)
        if char not in _STRING_QUOTES:
            if category == "dataset":
                self.fail(f"Expected a quoted string value for dataset attributes. Got value {self.raw()}", pos)
            if category == "string_attribute":
                self.fail(
                    f"Expected a quoted string value for attributes (e.g. 'my-value'). Got value {self.raw()}",
                    pos,
                )
            noun = _VALUE_NAMES.get(identifier.kind, identifier.kind)
            self.fail(f"Expected a quoted string value for {noun} (e.g. 'my-value'). Got value {self.raw()}", pos)
        return self.quoted()

    def numeric_attribute_value(self, key: str, number: re.Match[str] | None, pos: int) -> int | float:
        target = self.target
        if number:
            self.pos = number.end()
            text = number.group()
            if _INTEGER.fullmatch(text):
                return int(text)
            if key in target.integer_attributes:
                self.fail(f"Invalid value for numeric attribute '{key}': '{text}'. Expected an integer", pos)
            return float(text)
        if target.quoted_integers and self.text[pos] in _STRING_QUOTES:
            text = self.quoted()
            if _INTEGER.fullmatch(text.strip()):
                return int(text)
            self.fail(f"Invalid value for numeric attribute '{key}': {text!r}. Expected an integer", pos)
        self.fail(f"Expected numeric value type for numeric attribute: {key}. Found {self.raw()}", pos)

    def parse_list(self, identifier: Identifier) -> tuple[str, ...]:
        pos = self.skip()
        if identifier.kind == "attribute":
            supported = self.target.list_attributes
            if supported is not None and identifier.key not in supported:
                self.fail(
                    f"Only {sorted(supported)} attributes support comparison with a list of quoted string values.",
                    pos,
                )
        if self.peek() != "(":
            self.fail(
                f"Expected a list of quoted string values in parentheses, e.g. ('a', 'b'). Got value {self.raw()}",
                pos,
            )
        self.pos += 1
        if self.peek() == ")":
            self.fail(
                "While parsing a list in the query, expected a non-empty list of string values, but got empty list",
                pos,
            )
        items: list[str] = []
        while self.peek() != ")":
            item_pos = self.skip()
            if item_pos >= len(self.text):
                self.syntax("unbalanced parentheses: the list is not closed with ')'", pos)
            if self.text[item_pos] not in _STRING_QUOTES:
                self.fail(
                    "While parsing a list in the query, expected string value, punctuation, or whitespace, "
                    f"but got different type in list: {self.raw()}",
                    item_pos,
                )
            items.append(self.quoted())
            separator = self.peek()
            if separator == ",":
                self.pos += 1
            elif separator != ")":
                self.syntax(f"expected ',' or ')' in the list, found {self.found()}")
        self.pos += 1
        return tuple(items)


def _combine(node: type[And] | type[Or], clauses: list[Expr]) -> Expr:
    if len(clauses) == 1:
        return clauses[0]
    flat: list[Expr] = []
    for clause in clauses:
        flat.extend(clause.clauses if isinstance(clause, node) else (clause,))
    return node(tuple(flat))


def _check_no_nul(text: str, what: str) -> None:
    if "\x00" in text:
        raise errors.invalid(f"Invalid {what}: text cannot contain NUL (\\u0000) characters")


def _describe(identifier: Identifier) -> str:
    if identifier.aggregate:
        return f"{identifier.aggregate}(metric '{identifier.key}')"
    kind = "dataset key" if identifier.kind == "dataset" else identifier.kind
    return f"{kind} '{identifier.key}'"


def parse_filter(filter_string: str | None, target: SearchTarget) -> Expr | None:
    """Parse a search filter into a syntax tree, validated against ``target``.

    Args:
        filter_string: MLflow's filter language plus ``OR``, parentheses and ``min/max/avg/last(metrics.x)``;
            ``None``, empty or blank means no filter.
        target: what the search accepts, e.g. :data:`RUNS`.

    Returns:
        ``None`` for no filter, else a :class:`Comparison`, :class:`And` or :class:`Or` (flattened).

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for a syntax error, an unknown prefix or attribute, a
            comparator the identifier does not take, a value of the wrong type, an empty ``IN`` list,
            unbalanced parentheses, or a filter over the limits above; the message says where.
    """
    if filter_string is None:
        return None
    if not isinstance(filter_string, str):
        raise errors.invalid(f"Invalid filter {filter_string!r}: expected a string")
    if len(filter_string) > MAX_FILTER_LENGTH:
        raise errors.invalid(
            f"The filter is too long: {len(filter_string)} characters, at most {MAX_FILTER_LENGTH} are allowed"
        )
    _check_no_nul(filter_string, "filter")
    if not filter_string.strip():
        return None
    parser = _Parser(filter_string, target, "filter")
    expr = parser.parse_or()
    if not parser.at_end():
        rest_pos = parser.pos
        rest = filter_string[rest_pos:].strip()
        if rest.startswith(";"):
            parser.fail(
                f"Search filter contained multiple expression {filter_string!r}. Provide AND-ed expression list.",
                rest_pos,
            )
        if rest.startswith(")"):
            parser.syntax("unbalanced parentheses: unexpected ')'", rest_pos)
        parser.fail(
            f"Invalid clause(s) in filter string: '{rest}'. Expected AND, OR or the end of the filter", rest_pos
        )
    return expr


def parse_order_by(order_by: Sequence[str] | None, target: SearchTarget) -> list[OrderBy]:
    """Parse ``order_by`` clauses such as ``"metrics.loss DESC"`` or ``"min(metrics.loss) ASC"``.

    Args:
        order_by: clauses ``"<identifier> [ASC|DESC]"`` (direction case-insensitive, default ascending);
            ``None`` or empty means none.
        target: what the search accepts; its ``order_by_kinds`` and ``order_by_attributes`` apply.

    Returns:
        The clauses in order, without the target's defaults (see :meth:`SearchTarget.complete_order_by`).

    Raises:
        MltrailError: ``INVALID_PARAMETER_VALUE`` for a clause that does not parse, an unknown key, an entity
            kind the target cannot sort by, a direction other than ASC/DESC, a field given twice, or more than
            :data:`MAX_ORDER_BY_CLAUSES` clauses.
    """
    result: list[OrderBy] = []
    seen: set[Identifier] = set()
    if order_by is not None and len(order_by) > MAX_ORDER_BY_CLAUSES:
        raise errors.invalid(f"Too many order_by clauses: {len(order_by)}, at most {MAX_ORDER_BY_CLAUSES} are allowed")
    for clause in order_by or ():
        if not isinstance(clause, str) or not clause.strip():
            raise errors.invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        if len(clause) > MAX_FILTER_LENGTH:
            raise errors.invalid(
                f"The order_by clause is too long: {len(clause)} characters, at most {MAX_FILTER_LENGTH}"
            )
        _check_no_nul(clause, "order_by clause")
        parser = _Parser(clause, target, "order_by clause")
        start = parser.skip()
        identifier = parser.parse_operand()
        if identifier.kind not in target.order_by_kinds:
            parser.fail(
                f"Invalid order_by entity: {identifier.kind} (can order {target.name} by "
                f"{', '.join(sorted(target.order_by_kinds))})",
                start,
            )
        ascending = True
        if not parser.at_end():
            direction_pos = parser.pos
            word = parser.peek_word()
            if word is None or word.upper() not in ("ASC", "DESC"):
                parser.fail(f"Invalid ordering key in order_by clause '{clause}'. Expected ASC or DESC", direction_pos)
            parser.keyword(word.upper())
            ascending = word.upper() == "ASC"
        if not parser.at_end():
            parser.fail(f"Invalid order_by clause '{clause}'. Could not be parsed.", parser.pos)
        if identifier in seen:
            raise errors.invalid(f"`order_by` contains duplicate fields: {list(order_by or ())}")
        seen.add(identifier)
        result.append(OrderBy(identifier, ascending))
    return result
