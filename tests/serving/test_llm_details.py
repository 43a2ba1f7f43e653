"""Language models on the scoring server: one name on every route, and a request without ``messages`` told so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mltrail.serving.formats import parse_json_body
from mltrail.serving.openai import model_name_of
from mltrail.serving.run import registered_model_name
from mltrail.serving.schema import ServingSchema
from tests.serving.chat_echo import model_kwargs
from tests.serving.live import live_scoring_server

HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def echo_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The chat PythonModel of :mod:`tests.serving.chat_echo`, loaded (its answers say ``model: echo-source``)."""
    import mltrail.pyfunc

    root = tmp_path_factory.mktemp("echo")
    mltrail.pyfunc.save_model(str(root / "model"), **model_kwargs(root))
    return mltrail.pyfunc.load_model(str(root / "model"))


@pytest.mark.parametrize("name", [None, "echo-chat/3"])
def test_one_model_name_on_every_route(echo_model: Any, name: str | None) -> None:
    expected = name or model_name_of(echo_model)
    with live_scoring_server(echo_model, model_name=name) as (url, _), httpx.Client(base_url=url) as client:
        [listed] = client.get("/v1/models").json()["data"]
        assert listed["id"] == expected
        unified = client.post("/invocations", json={"messages": HELLO})
        assert unified.status_code == 200, unified.text
        assert [c["model"] for c in unified.json()] == [expected]
        records = client.post("/invocations", json={"dataframe_records": [{"messages": HELLO}]})
        assert [c["model"] for c in records.json()["predictions"]] == [expected]
        chat = client.post("/v1/chat/completions", json={"model": "anything", "messages": HELLO})
        assert chat.status_code == 200, chat.text
        assert chat.json()["model"] == expected
        assert chat.json()["choices"][0]["message"]["content"] == "hello there"


def test_answers_without_a_model_field_get_the_served_name(chat_model: Any) -> None:
    """The chat model of tests/serving/conftest.py answers without a ``model`` field: it gets the name /v1 shows."""
    with live_scoring_server(chat_model, model_name="echo/1") as (url, _):
        [answer] = httpx.post(f"{url}/invocations", json={"messages": HELLO}).json()
        assert answer["model"] == "echo/1"


def test_non_llm_predictions_are_left_alone(pyfunc_model: Any) -> None:
    with live_scoring_server(pyfunc_model, model_name="scale/1") as (url, _):
        body = {"dataframe_records": [{"x": 1.0}]}
        assert httpx.post(f"{url}/invocations", json=body).json() == {"predictions": [{"y": 2.0}]}


@pytest.mark.parametrize(
    "body", [{}, {"max_tokens": 5}, {"message": "hi"}, {"params": {"max_tokens": 5}}, {"question": "hi"}]
)
def test_chat_model_request_without_messages_names_it(echo_model: Any, body: dict[str, Any]) -> None:
    with live_scoring_server(echo_model) as (url, _):
        response = httpx.post(f"{url}/invocations", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error_code"] == "BAD_REQUEST"
    assert payload["message"].startswith("This chat model expects a 'messages' field"), payload["message"]
    assert str([key for key in body if key != "params"]) in payload["message"]
    assert "exactly one of the input fields" not in payload["message"]


def test_chat_model_with_two_formats_gets_the_generic_message(echo_model: Any) -> None:
    with live_scoring_server(echo_model) as (url, _):
        body = {"dataframe_records": [{"messages": HELLO}], "inputs": {"messages": HELLO}}
        response = httpx.post(f"{url}/invocations", json=body)
    assert response.status_code == 400 and "exactly one of the input fields" in response.json()["message"]


def test_completions_model_request_without_prompt_names_it() -> None:
    from mltrail.errors import MltrailError

    with pytest.raises(MltrailError, match=r"^This completions model expects a 'prompt' field"):
        parse_json_body(json.dumps({"max_tokens": 3}), ServingSchema(llm_field="prompt"))
    with pytest.raises(MltrailError, match="exactly one of the input fields"):
        parse_json_body(json.dumps({"max_tokens": 3}), ServingSchema())


def test_schema_knows_the_llm_field(echo_model: Any, pyfunc_model: Any) -> None:
    from mltrail.serving.schema import serving_schema_of

    assert serving_schema_of(echo_model).llm_field == "messages"
    assert serving_schema_of(pyfunc_model).llm_field is None


def test_registered_model_name(clean_fluent_state: Path) -> None:
    import mltrail
    import mltrail.pyfunc
    from mltrail.tracking.client import MltrailClient

    uri = f"sqlite:///{clean_fluent_state / 'reg.db'}"
    mltrail.set_tracking_uri(uri)
    with mltrail.start_run():
        for _ in range(2):
            mltrail.pyfunc.log_model(name="m", **model_kwargs(clean_fluent_state), registered_model_name="echo")
    client = MltrailClient(uri)
    client.set_registered_model_alias("echo", "champion", "1")
    assert registered_model_name("models:/echo/2", uri) == "echo/2"
    assert registered_model_name("models:/echo@champion", uri) == "echo/1"
    assert registered_model_name("models:/echo/latest", uri) == "echo/2"
    assert registered_model_name("models:/m-0123456789abcdef", uri) is None
    assert registered_model_name("runs:/abc/m", uri) is None
    assert registered_model_name(str(clean_fluent_state), uri) is None
