"""The filter and order_by parser: MLflow's grammar, mltrail's extensions, each target's rules and messages."""

from __future__ import annotations

import pytest

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.search.ast import And, Comparison, Identifier, Or, OrderBy
from mltrail.search.grammar import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    SearchTarget,
    parse_filter,
    parse_order_by,
)


def metric(key: str, aggregate: str | None = None) -> Identifier:
    return Identifier("metric", key, aggregate)  # type: ignore[arg-type]


def param(key: str) -> Identifier:
    return Identifier("param", key)


def tag(key: str) -> Identifier:
    return Identifier("tag", key)


def attr(key: str) -> Identifier:
    return Identifier("attribute", key)


def dataset(key: str) -> Identifier:
    return Identifier("dataset", key)


def one(filter_string: str, target: SearchTarget = RUNS) -> Comparison:
    expr = parse_filter(filter_string, target)
    assert isinstance(expr, Comparison), expr
    return expr


def error(filter_string: str, target: SearchTarget = RUNS) -> str:
    with pytest.raises(MltrailError) as info:
        parse_filter(filter_string, target)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    assert info.value.http_status == 400
    return info.value.message


def order_error(order_by: list[str], target: SearchTarget = RUNS) -> str:
    with pytest.raises(MltrailError) as info:
        parse_order_by(order_by, target)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    return info.value.message


# --- empty input


@pytest.mark.parametrize("filter_string", [None, "", "   ", "\n\t "])
def test_empty_filter_is_none(filter_string: str | None) -> None:
    assert parse_filter(filter_string, RUNS) is None


def test_non_string_filter_is_rejected() -> None:
    with pytest.raises(MltrailError, match="expected a string"):
        parse_filter(42, RUNS)  # type: ignore[arg-type]


# --- MLflow's valid filters


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metric.acc >= 0.94", Comparison(metric("acc"), ">=", 0.94)),
        ("metric.acc>=100", Comparison(metric("acc"), ">=", 100.0)),
        ("params.m!='tf'", Comparison(param("m"), "!=", "tf")),
        ('params."m"!="tf"', Comparison(param("m"), "!=", "tf")),
        ('metric."legit name" >= 0.243', Comparison(metric("legit name"), ">=", 0.243)),
        ("metrics.XYZ = 3", Comparison(metric("XYZ"), "=", 3.0)),
        ('params."cat dog" = "pets"', Comparison(param("cat dog"), "=", "pets")),
        ('metrics."X-Y-Z" = 3', Comparison(metric("X-Y-Z"), "=", 3.0)),
        ('metrics."X//Y#$$@&Z" = 3', Comparison(metric("X//Y#$$@&Z"), "=", 3.0)),
        ("params.model = 'LinearRegression'", Comparison(param("model"), "=", "LinearRegression")),
        ("`metric`.a >= 0.1", Comparison(metric("a"), ">=", 0.1)),
        ("tags.version = 'commit-hash'", Comparison(tag("version"), "=", "commit-hash")),
        ("`tags`.source_name = 'a notebook'", Comparison(tag("source_name"), "=", "a notebook")),
        ('metrics."accuracy.2.0" > 5', Comparison(metric("accuracy.2.0"), ">", 5.0)),
        ("metrics.`spacey name` > 5", Comparison(metric("spacey name"), ">", 5.0)),
        ('params."p.a.r.a.m" != "a"', Comparison(param("p.a.r.a.m"), "!=", "a")),
        ('tags."t.a.g" = "a"', Comparison(tag("t.a.g"), "=", "a")),
        ("tags.`mlflow.runName` = 'good-run'", Comparison(tag("mlflow.runName"), "=", "good-run")),
        ("datasets.name = 'my_data'", Comparison(dataset("name"), "=", "my_data")),
        ("dataset.digest = 'abc123'", Comparison(dataset("digest"), "=", "abc123")),
        ("datasets.context = 'train'", Comparison(dataset("context"), "=", "train")),
        ("attributes.status = 'FINISHED'", Comparison(attr("status"), "=", "FINISHED")),
        ("status != 'RUNNING'", Comparison(attr("status"), "!=", "RUNNING")),
        ("attribute.artifact_uri = '/tmp/x'", Comparison(attr("artifact_uri"), "=", "/tmp/x")),
        ("attr.user_id LIKE 'alice%'", Comparison(attr("user_id"), "LIKE", "alice%")),
        ("run.run_name ILIKE '%Fancy%'", Comparison(attr("run_name"), "ILIKE", "%Fancy%")),
        ("attributes.start_time >= 1234", Comparison(attr("start_time"), ">=", 1234)),
        ("end_time < 99", Comparison(attr("end_time"), "<", 99)),
    ],
)
def test_mlflow_valid_filters(filter_string: str, expected: Comparison) -> None:
    assert parse_filter(filter_string, RUNS) == expected


def test_and_of_several_clauses_is_flat() -> None:
    expr = parse_filter("metrics.rmse < 1 and params.model_class = 'LR' AND tags.t = 'x'", RUNS)
    assert expr == And(
        (
            Comparison(metric("rmse"), "<", 1.0),
            Comparison(param("model_class"), "=", "LR"),
            Comparison(tag("t"), "=", "x"),
        )
    )


# --- prefixes and keys


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("metric", "metric"),
        ("metrics", "metric"),
        ("param", "param"),
        ("params", "param"),
        ("parameter", "param"),
        ("parameters", "param"),
        ("tag", "tag"),
        ("tags", "tag"),
        ("attribute", "attribute"),
        ("attributes", "attribute"),
        ("attr", "attribute"),
        ("run", "attribute"),
        ("dataset", "dataset"),
        ("datasets", "dataset"),
        ("METRICS", "metric"),
        ("`params`", "param"),
        ('"tags"', "tag"),
    ],
)
def test_prefix_aliases(prefix: str, kind: str) -> None:
    key, value = {
        "metric": ("k", "1"),
        "param": ("k", "'v'"),
        "tag": ("k", "'v'"),
        "attribute": ("status", "'v'"),
        "dataset": ("name", "'v'"),
    }[kind]
    comparison = one(f"{prefix}.{key} = {value}")
    assert comparison.identifier.kind == kind
    assert comparison.identifier.key == key


@pytest.mark.parametrize(
    ("filter_string", "identifier"),
    [
        ("metrics.train/loss < 1", metric("train/loss")),
        ("metrics.val-loss < 1", metric("val-loss")),
        ("metrics.a:b < 1", metric("a:b")),
        ("metrics.1st<1", metric("1st")),
        ("tags.mlflow.source.name = 'x'", tag("mlflow.source.name")),
        ("params.optimizer.lr = 'x'", param("optimizer.lr")),
        ("params.'quoted key' = 'x'", param("quoted key")),
        ("tags.`a``b` = 'x'", tag("a`b")),
        ('tags."a""b" = \'x\'', tag('a"b')),
        ("metrics.ünïcode > 1", metric("ünïcode")),
    ],
)
def test_keys(filter_string: str, identifier: Identifier) -> None:
    assert one(filter_string).identifier == identifier


@pytest.mark.parametrize(
    ("filter_string", "key"),
    [
        ("created > 1", "start_time"),
        ("Created > 1", "start_time"),
        ("attributes.created > 1", "start_time"),
        ("`run name` = 'x'", "run_name"),
        ("\"Run name\" = 'x'", "run_name"),
        ("attributes.`Run Name` = 'x'", "run_name"),
        ("run name = 'x'", "run_name"),
        ("Run Name = 'x'", "run_name"),
    ],
)
def test_attribute_aliases(filter_string: str, key: str) -> None:
    assert one(filter_string).identifier == attr(key)


# --- values


@pytest.mark.parametrize(
    ("filter_string", "value"),
    [
        ("params.m = 'LR'", "LR"),
        ('params.m = "LR"', "LR"),
        ('params.m = "L\'Hosp"', "L'Hosp"),
        ("params.m = 'L\"Hosp'", 'L"Hosp'),
        ("params.m = 'it''s'", "it's"),
        ('params.m = "say ""hi"""', 'say "hi"'),
        ("params.m = 'it\\'s'", "it's"),
        ("params.m = 'C:\\\\dir'", "C:\\dir"),
        ("params.m LIKE 'a\\_b%'", "a\\_b%"),
        ("params.m = ''", ""),
        ("params.m = ' spaced  '", " spaced  "),
        ("params.m = 'AND OR ( ) ,'", "AND OR ( ) ,"),
    ],
)
def test_string_values_and_escaping(filter_string: str, value: str) -> None:
    assert one(filter_string).value == value


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("+2", 2.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("1.5E-3", 0.0015),
        ("-2e+2", -200.0),
    ],
)
def test_metric_numbers_are_floats(literal: str, value: float) -> None:
    comparison = one(f"metrics.x > {literal}")
    assert comparison.value == value
    assert type(comparison.value) is float


def test_numeric_attributes_keep_integers() -> None:
    assert type(one("start_time > 1700000000000").value) is int
    assert one("start_time > 1700000000000").value == 1700000000000
    assert one("end_time <= -5").value == -5
    fractional = one("start_time > 1.5")
    assert fractional.value == 1.5 and type(fractional.value) is float


def test_negative_number_right_after_comparator() -> None:
    assert one("metrics.loss<-1").value == -1.0
    assert one("metrics.loss>=-1e-3").comparator == ">="


# --- comparators


@pytest.mark.parametrize("comparator", ["=", "!=", "<", "<=", ">", ">="])
def test_metric_comparators(comparator: str) -> None:
    assert one(f"metrics.m {comparator} 1").comparator == comparator


@pytest.mark.parametrize("kind", ["params", "tags"])
@pytest.mark.parametrize("comparator", ["=", "!=", "LIKE", "ILIKE", "like", "Ilike"])
def test_param_and_tag_comparators(kind: str, comparator: str) -> None:
    comparison = one(f"{kind}.k {comparator} 'v'")
    assert comparison.comparator == comparator.upper()
    assert comparison.value == "v"


@pytest.mark.parametrize("kind", ["params", "tags"])
@pytest.mark.parametrize(("spelling", "comparator"), [("IS NULL", "IS NULL"), ("is  not   null", "IS NOT NULL")])
def test_is_null(kind: str, spelling: str, comparator: str) -> None:
    comparison = one(f"{kind}.k {spelling}")
    assert comparison.comparator == comparator
    assert comparison.value is None


def test_angle_brackets_mean_not_equal() -> None:
    assert one("metrics.a <> 1").comparator == "!="


@pytest.mark.parametrize(
    ("filter_string", "comparator", "value"),
    [
        ("attributes.run_id IN ('a', 'b', 'c')", "IN", ("a", "b", "c")),
        ("run_id in ('a')", "IN", ("a",)),
        ("run_id NOT IN ('a', \"b\")", "NOT IN", ("a", "b")),
        ("run_id not in ('a','b',)", "NOT IN", ("a", "b")),
        ("run_id IN('it''s')", "IN", ("it's",)),
        ("datasets.name IN ('a', 'b')", "IN", ("a", "b")),
        ("datasets.digest NOT IN ('a')", "NOT IN", ("a",)),
        ("datasets.context IN ('train', 'eval')", "IN", ("train", "eval")),
    ],
)
def test_in_lists(filter_string: str, comparator: str, value: tuple[str, ...]) -> None:
    comparison = one(filter_string)
    assert comparison.comparator == comparator
    assert comparison.value == value


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.a LIKE '1'", "Invalid comparator 'LIKE' not one of"),
        ("metrics.a IN ('1')", "Invalid comparator 'IN' not one of"),
        ("metrics.a IS NULL", "Invalid comparator 'IS NULL' not one of"),
        ("metrics.a == 1", "Invalid comparator '==' not one of"),
        ("params.a > '1'", "Invalid comparator '>' not one of"),
        ("params.a IN ('1')", "Invalid comparator 'IN' not one of"),
        ("tags.a <= 'x'", "Invalid comparator '<=' not one of"),
        ("tags.a RLIKE 'x'", "Invalid comparator 'RLIKE' not one of"),
        ("status > 'x'", "Invalid comparator '>' not one of"),
        ("status IS NULL", "Invalid comparator 'IS NULL' not one of"),
        ("start_time LIKE '1'", "Invalid comparator 'LIKE' not one of"),
        ("start_time IN ('1')", "Invalid comparator 'IN' not one of"),
        ("datasets.name > 'a'", "Invalid comparator '>' not one of"),
        ("datasets.name IS NULL", "Invalid comparator 'IS NULL' not one of"),
    ],
)
def test_wrong_comparator_for_kind(filter_string: str, message: str) -> None:
    assert message in error(filter_string)


def test_comparator_error_names_the_identifier_and_place() -> None:
    message = error("metrics.a > 1 and params.p < 'x'")
    assert message.startswith(
        "Invalid comparator '<' not one of '{'!=', '=', 'ILIKE', 'IS NOT NULL', 'IS NULL', 'LIKE'}'"
    )
    assert "param 'p'" in message
    assert "at character 28 of filter 'metrics.a > 1 and params.p < 'x''" in message


# --- OR, parentheses


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Comparison(metric(k), ">", 1.0) for k in "abc")
    assert parse_filter("metrics.a > 1 AND metrics.b > 1 OR metrics.c > 1", RUNS) == Or((And((a, b)), c))
    assert parse_filter("metrics.a > 1 OR metrics.b > 1 AND metrics.c > 1", RUNS) == Or((a, And((b, c))))


def test_parentheses_group() -> None:
    a, b, c = (Comparison(metric(k), ">", 1.0) for k in "abc")
    assert parse_filter("metrics.a > 1 AND (metrics.b > 1 OR metrics.c > 1)", RUNS) == And((a, Or((b, c))))
    assert parse_filter("(metrics.a > 1)", RUNS) == a
    assert parse_filter("((metrics.a > 1))", RUNS) == a
    assert parse_filter("(metrics.a>1)and(metrics.b>1)", RUNS) == And((a, b))


def test_nested_groups_flatten_same_operator() -> None:
    a, b, c, d = (Comparison(metric(k), ">", 1.0) for k in "abcd")
    assert parse_filter("(metrics.a > 1 or metrics.b > 1) or (metrics.c > 1 or metrics.d > 1)", RUNS) == Or(
        (a, b, c, d)
    )
    assert parse_filter("metrics.a > 1 and (metrics.b > 1 and metrics.c > 1)", RUNS) == And((a, b, c))
    assert parse_filter("(metrics.a > 1 or metrics.b > 1) and (metrics.c > 1 or metrics.d > 1)", RUNS) == And(
        (Or((a, b)), Or((c, d)))
    )


def test_deep_nesting_is_a_clear_error() -> None:
    assert parse_filter("(" * 60 + "metrics.a > 1" + ")" * 60, RUNS) == Comparison(metric("a"), ">", 1.0)
    assert "nested deeper than 64 levels" in error("(" * 5000 + "metrics.a > 1" + ")" * 5000)


def test_keywords_inside_strings_and_keys_are_not_operators() -> None:
    expr = parse_filter("params.`or` = 'a and b' or tags.and = 'OR'", RUNS)
    assert expr == Or((Comparison(param("or"), "=", "a and b"), Comparison(tag("and"), "=", "OR")))


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("(metrics.a > 1", "unbalanced parentheses"),
        ("((metrics.a > 1) and metrics.b > 1", "unbalanced parentheses"),
        ("metrics.a > 1)", "unbalanced parentheses: unexpected ')'"),
        ("()", "empty parentheses"),
        ("metrics.a > 1 or", "expected an identifier"),
        ("or metrics.a > 1", "Invalid attribute key 'or'"),
        ("metrics.a > 1 and and metrics.b > 1", "Invalid attribute key 'and'"),
    ],
)
def test_grouping_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string)


# --- aggregates


@pytest.mark.parametrize("aggregate", ["min", "max", "avg"])
def test_aggregates(aggregate: str) -> None:
    comparison = one(f"{aggregate}(metrics.loss) < 0.1")
    assert comparison == Comparison(metric("loss", aggregate), "<", 0.1)


def test_aggregate_spellings() -> None:
    assert one("MIN( metrics.`val loss` ) <= 1").identifier == metric("val loss", "min")
    assert one("Max (metric.acc) > 0.9").identifier == metric("acc", "max")


def test_last_is_the_plain_metric() -> None:
    assert one("last(metrics.loss) < 0.1") == one("metrics.loss < 0.1")


def test_aggregates_combine_with_or() -> None:
    expr = parse_filter("min(metrics.loss) < 0.1 or max(metrics.acc) >= 0.9", RUNS)
    assert expr == Or((Comparison(metric("loss", "min"), "<", 0.1), Comparison(metric("acc", "max"), ">=", 0.9)))


@pytest.mark.parametrize(
    ("filter_string", "target", "message"),
    [
        ("min(params.p) = 'x'", RUNS, "applies to metrics only, not to param 'p'"),
        ("max(start_time) > 1", RUNS, "applies to metrics only, not to attribute 'start_time'"),
        ("sum(metrics.a) > 1", RUNS, "Unknown function 'sum'"),
        ("min(metrics.a > 1", RUNS, "expected ')' to close min("),
        ("min(metrics.a) = 'x'", RUNS, "Expected numeric value type for metric"),
        ("min(metrics.a) LIKE '1'", RUNS, "Invalid comparator 'LIKE'"),
        ("min(tags.a) = 'x'", EXPERIMENTS, "not supported when searching experiments"),
        ("avg(name) = 'x'", REGISTERED_MODELS, "not supported when searching registered models"),
    ],
)
def test_aggregate_errors(filter_string: str, target: SearchTarget, message: str) -> None:
    assert message in error(filter_string, target)


def test_aggregates_in_logged_models() -> None:
    assert one("avg(metrics.acc) > 0.5", LOGGED_MODELS).identifier == metric("acc", "avg")


# --- MLflow's invalid filters


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metric.acc >= 0.94; metrics.rmse < 1", "Search filter contained multiple expression"),
        ("m.acc >= 0.94", "Invalid entity type 'm'"),
        ("acc >= 0.94", "Invalid attribute key 'acc'"),
        ("p.model >= 'LR'", "Invalid entity type 'p'"),
        ("attri.x != 1", "Invalid entity type 'attri'"),
        ("a.x != 1", "Invalid entity type 'a'"),
        ("model >= 'LR'", "Invalid attribute key 'model'"),
        ("metrics.A > 0.1 NAND params.B = 'LR'", "Invalid clause(s) in filter string: 'NAND params.B = 'LR''"),
        ("metrics.A > 0.1 params.B = 'LR'", "Invalid clause(s) in filter string"),
        ("`metrics.A > 0.1", "unterminated `quoted` text"),
        ("param`.A > 0.1", "Invalid attribute key 'param'"),
        ("dummy`.A > 0.1", "Invalid attribute key 'dummy'"),
        ("`dummy`.A > 0.1", "Invalid entity type 'dummy'"),
        ("attribute.start != 1", "Invalid attribute key 'start'"),
        ("attribute.experiment_id != 1", "Invalid attribute key 'experiment_id'"),
        ("attribute.lifecycle_stage = 'ACTIVE'", "Invalid attribute key 'lifecycle_stage'"),
        ("attribute.name != 1", "Invalid attribute key 'name'"),
        ("attribute.time != 1", "Invalid attribute key 'time'"),
        ("attribute._status != 'RUNNING'", "Invalid attribute key '_status'"),
        ("attribute.status = true", "Expected a quoted string value for attributes"),
        ("dataset.status = 'true'", "Invalid dataset key 'status'"),
        ("metric.acc = 'B'", "Expected numeric value type for metric. Found 'B'"),
        ("metrics.acc = nan", "Expected numeric value type for metric. Found nan"),
        ("metrics.acc = 1abc", "Expected numeric value type for metric. Found 1abc"),
        ("parameter.model = 0.3", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.3"),
        ("tag.acc = 0.3", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 0.3"),
        ("attribute.status = 0.3", "Expected a quoted string value for attributes"),
        ("attributes.start_time = 'now'", "Expected numeric value type for numeric attribute: start_time"),
        ("datasets.name = 1", "Expected a quoted string value for dataset attributes"),
        ("params.acc = LR", "Expected a quoted string value for parameter"),
        ("tags.acc = LR", "Expected a quoted string value for tag"),
        ("params.acc = `LR`", "Expected a quoted string value for parameter"),
        ("params.'acc = LR", "unterminated 'quoted' text"),
        ("params.acc = 'LR", "unterminated 'quoted' text"),
        ("params.acc = LR'", "Expected a quoted string value for parameter"),
        ("params.acc = \"LR'", 'unterminated "quoted" text'),
        ("tags.acc = = 'LR'", "Expected a quoted string value for tag"),
        ("attribute.status IS 'RUNNING'", "expected NULL or NOT NULL after IS"),
        ("tags.a IS NOT 'x'", "expected NULL after IS"),
        ("tags.a NOT LIKE 'x'", "expected IN after NOT"),
        ("metrics.a", "expected a comparator"),
        ("metrics.a 1", "expected a comparator"),
        ("metrics. > 1", "expected a key after 'metrics.'"),
        ("metrics.`` > 1", "empty key after 'metrics.'"),
        ("'a' = 'b'", "expected an identifier"),
        ("metrics.a >", "expected a value after the comparator"),
        ("1 = 1", "expected an identifier"),
    ],
)
def test_mlflow_invalid_filters(filter_string: str, message: str) -> None:
    assert message in error(filter_string)


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("attributes.run_id IN ()", "expected a non-empty list of string values, but got empty list"),
        ("run_id IN ( )", "expected a non-empty list of string values, but got empty list"),
        ("run_id IN (1, 2)", "expected string value, punctuation, or whitespace, but got different type in list: 1"),
        ("run_id IN ('a', 2)", "but got different type in list: 2"),
        ("run_id IN ('a' 'b')", "expected ',' or ')' in the list"),
        ("run_id IN ('a',", "the list is not closed"),
        ("run_id IN 'a'", "Expected a list of quoted string values in parentheses"),
        ("status IN ('a')", "Only ['run_id'] attributes support comparison with a list of quoted string values."),
        ("run_name NOT IN ('a')", "Only ['run_id'] attributes support comparison"),
        ("params.p IN ('a')", "Invalid comparator 'IN'"),
        ("run_id = ('a')", "Expected a quoted string value for attributes"),
    ],
)
def test_in_list_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string)


def test_error_messages_say_where() -> None:
    message = error("params.a = 'x' and tags.b = 3")
    assert message == (
        "Expected a quoted string value for tag (e.g. 'my-value'). Got value 3 "
        "(at character 29 of filter 'params.a = 'x' and tags.b = 3')"
    )
    syntax = error("params.a = 'x' and (tags.b = 'y'")
    assert syntax == (
        "Error on parsing filter 'params.a = 'x' and (tags.b = 'y'': unbalanced parentheses: expected ')' to "
        "close the '(' at character 20 or AND/OR, found the end of the filter at character 33"
    )


def test_invalid_attribute_lists_valid_keys() -> None:
    assert error("acc >= 0.94") == (
        "Invalid attribute key 'acc' specified. Valid keys are "
        "'{'artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id'}' "
        "(at character 1 of filter 'acc >= 0.94')"
    )


# --- experiments


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'exp'", Comparison(attr("name"), "=", "exp")),
        ("attribute.name LIKE 'ex%'", Comparison(attr("name"), "LIKE", "ex%")),
        ("attributes.name ILIKE '%EXP%'", Comparison(attr("name"), "ILIKE", "%EXP%")),
        ("name != 'x'", Comparison(attr("name"), "!=", "x")),
        ("experiment_id = '1'", Comparison(attr("experiment_id"), "=", "1")),
        ("experiment_id != '1'", Comparison(attr("experiment_id"), "!=", "1")),
        ("experiment_id IN ('1', '2')", Comparison(attr("experiment_id"), "IN", ("1", "2"))),
        ("experiment_id NOT IN ('1')", Comparison(attr("experiment_id"), "NOT IN", ("1",))),
        ("creation_time > 1000", Comparison(attr("creation_time"), ">", 1000)),
        ("last_update_time <= 5", Comparison(attr("last_update_time"), "<=", 5)),
        ("tags.key = 'value'", Comparison(tag("key"), "=", "value")),
        ("tag.`mlflow.note` LIKE '%x'", Comparison(tag("mlflow.note"), "LIKE", "%x")),
        ("tags.k ILIKE 'V'", Comparison(tag("k"), "ILIKE", "V")),
        ("tags.k != 'v'", Comparison(tag("k"), "!=", "v")),
        ("tags.k IS NULL", Comparison(tag("k"), "IS NULL", None)),
        ("tags.k IS NOT NULL", Comparison(tag("k"), "IS NOT NULL", None)),
    ],
)
def test_experiments(filter_string: str, expected: Comparison) -> None:
    assert parse_filter(filter_string, EXPERIMENTS) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.a > 1", "Invalid entity type 'metrics'"),
        ("params.a = 'x'", "Invalid entity type 'params'"),
        ("run.name = 'x'", "Invalid entity type 'run'"),
        ("datasets.name = 'x'", "Invalid entity type 'datasets'"),
        ("status = 'x'", "Invalid attribute key 'status'"),
        ("experiment_id LIKE '1%'", "Invalid comparator 'LIKE'"),
        ("experiment_id = 1", "Expected a quoted string value for attributes"),
        ("name IN ('a')", "Only ['experiment_id'] attributes support comparison"),
        ("name IS NULL", "Invalid comparator 'IS NULL'"),
        ("creation_time > 1.5", "Invalid value for numeric attribute 'creation_time': '1.5'"),
        ("creation_time > '1'", "Expected numeric value type for numeric attribute: creation_time"),
        ("tags.k IN ('a')", "Invalid comparator 'IN'"),
    ],
)
def test_experiment_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string, EXPERIMENTS)


# --- registry


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'model'", Comparison(attr("name"), "=", "model")),
        ("name != 'model'", Comparison(attr("name"), "!=", "model")),
        ("name LIKE '%mod%'", Comparison(attr("name"), "LIKE", "%mod%")),
        ("attribute.name ILIKE 'M%'", Comparison(attr("name"), "ILIKE", "M%")),
        ("name IN ('a', 'b')", Comparison(attr("name"), "IN", ("a", "b"))),
        ("name NOT IN ('a')", Comparison(attr("name"), "NOT IN", ("a",))),
        ("tags.k = 'v'", Comparison(tag("k"), "=", "v")),
        ("tag.`mlflow.prompt.is_prompt` != 'true'", Comparison(tag("mlflow.prompt.is_prompt"), "!=", "true")),
        ("tags.k LIKE 'v%'", Comparison(tag("k"), "LIKE", "v%")),
        ("tags.k ILIKE 'v%'", Comparison(tag("k"), "ILIKE", "v%")),
    ],
)
def test_registered_models(filter_string: str, expected: Comparison) -> None:
    assert parse_filter(filter_string, REGISTERED_MODELS) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("run_id = 'x'", "Invalid attribute key 'run_id'"),
        ("creation_timestamp > 1", "Invalid attribute key 'creation_timestamp'"),
        ("tags.k IS NULL", "Invalid comparator 'IS NULL'"),
        ("tags.k IN ('a')", "Invalid comparator 'IN'"),
        ("metrics.a > 1", "Invalid entity type 'metrics'"),
        ("name > 'a'", "Invalid comparator '>'"),
    ],
)
def test_registered_model_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string, REGISTERED_MODELS)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'm'", Comparison(attr("name"), "=", "m")),
        ("name IN ('a', 'b')", Comparison(attr("name"), "IN", ("a", "b"))),
        ("run_id = 'r'", Comparison(attr("run_id"), "=", "r")),
        ("run_id IN ('r1', 'r2')", Comparison(attr("run_id"), "IN", ("r1", "r2"))),
        ("run_id NOT IN ('r1')", Comparison(attr("run_id"), "NOT IN", ("r1",))),
        ("source_path LIKE 's3://%'", Comparison(attr("source_path"), "LIKE", "s3://%")),
        ("source_path ILIKE '%X'", Comparison(attr("source_path"), "ILIKE", "%X")),
        ("version_number = 3", Comparison(attr("version_number"), "=", 3)),
        ("version_number >= 2", Comparison(attr("version_number"), ">=", 2)),
        ("version_number != '3'", Comparison(attr("version_number"), "!=", 3)),
        ("version_number < 10 AND name = 'm'", None),
        ("tags.k = 'v'", Comparison(tag("k"), "=", "v")),
    ],
)
def test_model_versions(filter_string: str, expected: Comparison | None) -> None:
    expr = parse_filter(filter_string, MODEL_VERSIONS)
    if expected is None:
        assert expr == And((Comparison(attr("version_number"), "<", 10), Comparison(attr("name"), "=", "m")))
    else:
        assert expr == expected
    if isinstance(expr, Comparison) and expr.identifier.key == "version_number":
        assert type(expr.value) is int


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("version_number = 1.5", "Invalid value for numeric attribute 'version_number': '1.5'"),
        ("version_number = 'one'", "Invalid value for numeric attribute 'version_number': 'one'"),
        ("version_number LIKE '1'", "Invalid comparator 'LIKE'"),
        ("version_number IN ('1')", "Invalid comparator 'IN'"),
        ("source_path IN ('a')", "Only ['name', 'run_id'] attributes support comparison"),
        ("source = 'a'", "Invalid attribute key 'source'"),
        ("tags.k IS NOT NULL", "Invalid comparator 'IS NOT NULL'"),
        ("name = 1", "Expected a quoted string value for attributes"),
    ],
)
def test_model_version_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string, MODEL_VERSIONS)


# --- logged models


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'm'", Comparison(attr("name"), "=", "m")),
        ("attributes.status IN ('READY', 'PENDING')", Comparison(attr("status"), "IN", ("READY", "PENDING"))),
        ("source_run_id = 'r'", Comparison(attr("source_run_id"), "=", "r")),
        ("model_type LIKE 'agent%'", Comparison(attr("model_type"), "LIKE", "agent%")),
        ("creation_time > 5", Comparison(attr("creation_timestamp"), ">", 5)),
        ("creation_timestamp_ms > 5", Comparison(attr("creation_timestamp"), ">", 5)),
        ("last_updated_timestamp_ms <= 5", Comparison(attr("last_updated_timestamp"), "<=", 5)),
        ("metrics.accuracy > 0.9", Comparison(metric("accuracy"), ">", 0.9)),
        ("params.lr = '0.1'", Comparison(param("lr"), "=", "0.1")),
        ("params.lr IN ('0.1', '0.2')", Comparison(param("lr"), "IN", ("0.1", "0.2"))),
        ("tags.t NOT IN ('x')", Comparison(tag("t"), "NOT IN", ("x",))),
        ("tags.t ILIKE 'x'", Comparison(tag("t"), "ILIKE", "x")),
    ],
)
def test_logged_models(filter_string: str, expected: Comparison) -> None:
    assert parse_filter(filter_string, LOGGED_MODELS) == expected


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("datasets.name = 'x'", "Invalid entity type 'datasets'"),
        ("run.name = 'x'", "Invalid entity type 'run'"),
        ("tags.t IS NULL", "Invalid comparator 'IS NULL'"),
        ("creation_timestamp LIKE '1'", "Invalid comparator 'LIKE'"),
        ("metrics.a IN ('1')", "Invalid comparator 'IN'"),
        ("run_id = 'x'", "Invalid attribute key 'run_id'"),
    ],
)
def test_logged_model_errors(filter_string: str, message: str) -> None:
    assert message in error(filter_string, LOGGED_MODELS)


# --- order_by


def test_order_by_empty() -> None:
    assert parse_order_by(None, RUNS) == []
    assert parse_order_by([], RUNS) == []


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.loss", OrderBy(metric("loss"), True)),
        ("metrics.loss ASC", OrderBy(metric("loss"), True)),
        ("metrics.loss desc", OrderBy(metric("loss"), False)),
        ("metrics.`my metric` DESC", OrderBy(metric("my metric"), False)),
        ('metrics."my metric" Asc', OrderBy(metric("my metric"), True)),
        ("params.lr DESC", OrderBy(param("lr"), False)),
        ("tags.mlflow.runName", OrderBy(tag("mlflow.runName"), True)),
        ("attributes.start_time DESC", OrderBy(attr("start_time"), False)),
        ("start_time", OrderBy(attr("start_time"), True)),
        ("created DESC", OrderBy(attr("start_time"), False)),
        ("attribute.`Run name` ASC", OrderBy(attr("run_name"), True)),
        ("run name DESC", OrderBy(attr("run_name"), False)),
        ("status", OrderBy(attr("status"), True)),
        ("min(metrics.loss) ASC", OrderBy(metric("loss", "min"), True)),
        ("max(metrics.acc) DESC", OrderBy(metric("acc", "max"), False)),
        ("last(metrics.acc)", OrderBy(metric("acc"), True)),
        ("  metrics.loss   DESC  ", OrderBy(metric("loss"), False)),
    ],
)
def test_order_by_runs(clause: str, expected: OrderBy) -> None:
    assert parse_order_by([clause], RUNS) == [expected]


def test_order_by_keeps_order() -> None:
    assert parse_order_by(["metrics.a DESC", "params.b"], RUNS) == [
        OrderBy(metric("a"), False),
        OrderBy(param("b"), True),
    ]


@pytest.mark.parametrize(
    ("order_by", "target", "message"),
    [
        (["metrics.a UP"], RUNS, "Invalid ordering key in order_by clause 'metrics.a UP'"),
        (["metrics.a DESC ASC"], RUNS, "Invalid order_by clause 'metrics.a DESC ASC'. Could not be parsed."),
        (["metrics.a DESC;"], RUNS, "Invalid order_by clause 'metrics.a DESC;'. Could not be parsed."),
        ([""], RUNS, "Invalid order_by clause ''. Could not be parsed."),
        (["datasets.name"], RUNS, "Invalid order_by entity: dataset"),
        (["lifecycle_stage"], RUNS, "Invalid attribute key 'lifecycle_stage'"),
        (["m.a"], RUNS, "Invalid entity type 'm'"),
        (["metrics.a", "metrics.a DESC"], RUNS, "`order_by` contains duplicate fields"),
        (["start_time", "created DESC"], RUNS, "`order_by` contains duplicate fields"),
        (["min(params.a)"], RUNS, "applies to metrics only"),
        (["tags.t"], EXPERIMENTS, "Invalid order_by entity: tag"),
        (["status"], EXPERIMENTS, "Invalid attribute key 'status'"),
        (["tags.t"], REGISTERED_MODELS, "Invalid order_by entity: tag"),
        (["run_id"], MODEL_VERSIONS, "Invalid attribute key 'run_id'"),
        (["params.p"], LOGGED_MODELS, "Invalid order_by entity: param"),
        (["min(metrics.a)"], EXPERIMENTS, "Invalid entity type 'metrics'"),
    ],
)
def test_order_by_errors(order_by: list[str], target: SearchTarget, message: str) -> None:
    assert message in order_error(order_by, target)


@pytest.mark.parametrize(
    ("target", "clause", "expected"),
    [
        (EXPERIMENTS, "name", OrderBy(attr("name"), True)),
        (EXPERIMENTS, "experiment_id DESC", OrderBy(attr("experiment_id"), False)),
        (EXPERIMENTS, "attribute.creation_time DESC", OrderBy(attr("creation_time"), False)),
        (EXPERIMENTS, "last_update_time", OrderBy(attr("last_update_time"), True)),
        (REGISTERED_MODELS, "name DESC", OrderBy(attr("name"), False)),
        (REGISTERED_MODELS, "timestamp DESC", OrderBy(attr("last_updated_timestamp"), False)),
        (REGISTERED_MODELS, "creation_timestamp", OrderBy(attr("creation_timestamp"), True)),
        (MODEL_VERSIONS, "version_number DESC", OrderBy(attr("version_number"), False)),
        (MODEL_VERSIONS, "last_updated_timestamp", OrderBy(attr("last_updated_timestamp"), True)),
        (LOGGED_MODELS, "creation_time DESC", OrderBy(attr("creation_timestamp"), False)),
        (LOGGED_MODELS, "metrics.acc DESC", OrderBy(metric("acc"), False)),
        (LOGGED_MODELS, "avg(metrics.acc)", OrderBy(metric("acc", "avg"), True)),
    ],
)
def test_order_by_other_targets(target: SearchTarget, clause: str, expected: OrderBy) -> None:
    assert parse_order_by([clause], target) == [expected]


def test_timestamp_alias_only_in_order_by() -> None:
    assert "Invalid attribute key 'timestamp'" in error("timestamp > 1", REGISTERED_MODELS)


# --- defaults


@pytest.mark.parametrize(
    ("target", "requested", "expected"),
    [
        (RUNS, [], ["start_time DESC", "run_id ASC"]),
        (RUNS, ["metrics.a"], ["metrics.a ASC", "start_time DESC", "run_id ASC"]),
        (RUNS, ["start_time ASC"], ["start_time ASC", "run_id ASC"]),
        (RUNS, ["run_id DESC"], ["run_id DESC", "start_time DESC"]),
        (EXPERIMENTS, [], ["creation_time DESC", "experiment_id ASC"]),
        (EXPERIMENTS, ["name"], ["name ASC", "experiment_id DESC"]),
        (REGISTERED_MODELS, [], ["name ASC"]),
        (REGISTERED_MODELS, ["timestamp DESC"], ["last_updated_timestamp DESC", "name ASC"]),
        (
            MODEL_VERSIONS,
            [],
            ["last_updated_timestamp DESC", "name ASC", "version_number DESC"],
        ),
        (MODEL_VERSIONS, ["version_number ASC"], ["version_number ASC", "name ASC"]),
        (LOGGED_MODELS, [], ["creation_timestamp DESC", "model_id ASC"]),
    ],
)
def test_complete_order_by(target: SearchTarget, requested: list[str], expected: list[str]) -> None:
    completed = target.complete_order_by(parse_order_by(requested, target))
    as_text = []
    for clause in completed:
        identifier = clause.identifier
        name = identifier.key if identifier.kind == "attribute" else f"{identifier.kind}s.{identifier.key}"
        as_text.append(f"{name} {'ASC' if clause.ascending else 'DESC'}")
    assert as_text == expected


def test_target_metadata() -> None:
    assert RUNS.kinds == {"metric", "param", "tag", "attribute", "dataset"}
    assert EXPERIMENTS.kinds == {"tag", "attribute"}
    assert RUNS.category(attr("start_time")) == "numeric_attribute"
    assert RUNS.category(attr("status")) == "string_attribute"
    assert RUNS.category(metric("a", "min")) == "metric"
    assert EXPERIMENTS.comparators_for(attr("experiment_id")) == {"=", "!=", "IN", "NOT IN"}
    assert REGISTERED_MODELS.missing_tag_defaults == {"mlflow.prompt.is_prompt": "false"}
