"""Serving the tiny chat model of each chat flavor (transformers, onnx_genai): /invocations (MLflow's shapes) and /v1
(OpenAI's, with the official client)."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.llm.tiny_phi3 import CODER, CODER_ANSWER, SPAIN, SPAIN_ANSWER
from tests.serving.live import live_scoring_server

pytest.importorskip("transformers")
openai = pytest.importorskip("openai")


@pytest.fixture(scope="module", params=["transformers", "onnx_genai"])
def server(
    request: pytest.FixtureRequest, tiny_phi3_dirs: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A live scoring server for the tiny Phi-3 chat model of each chat flavor."""
    import mltrail.pyfunc

    path = tmp_path_factory.mktemp("served") / "chat"
    if request.param == "transformers":
        import transformers

        import mltrail.transformers

        pipe = transformers.pipeline("text-generation", model=tiny_phi3_dirs[0])
        mltrail.transformers.save_model(pipe, path, task="llm/v1/chat")
    else:
        import mltrail.onnx_genai

        mltrail.onnx_genai.save_model(tiny_phi3_dirs[1], path)
    with live_scoring_server(mltrail.pyfunc.load_model(str(path))) as (url, _):
        yield url


def test_invocations_unified_body_is_a_bare_list(server: str) -> None:
    r = httpx.post(f"{server}/invocations", json={"messages": SPAIN, "max_tokens": 20})
    assert r.status_code == 200, r.text
    [out] = r.json()
    assert out["object"] == "chat.completion" and out["choices"][0]["message"]["content"] == SPAIN_ANSWER


def test_invocations_dataframe_records_are_wrapped(server: str) -> None:
    r = httpx.post(f"{server}/invocations", json={"dataframe_records": [{"messages": CODER, "max_tokens": 20}]})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["choices"][0]["message"]["content"] == CODER_ANSWER


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": SPAIN, "max_tokens": 0}, "'max_tokens' must be a positive integer"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role must be one of"),
        ({"messages": [{"role": "user", "content": "word " * 600}]}, "context length"),
    ],
)
def test_invocations_bad_request_in_mlflow_shape(server: str, body: dict[str, Any], message: str) -> None:
    r = httpx.post(f"{server}/invocations", json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE" and message in r.json()["message"]


def test_invocations_stream_is_sse(server: str) -> None:
    """MLflow 3.18 answers ``"stream": true`` on /invocations with a 400; mltrail streams chat.completion.chunk."""
    body = {"messages": SPAIN, "max_tokens": 20, "stream": True}
    with httpx.stream("POST", f"{server}/invocations", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == SPAIN_ANSWER
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_invocations_stream_bad_request_in_mlflow_shape(server: str) -> None:
    r = httpx.post(f"{server}/invocations", json={"messages": SPAIN, "max_tokens": 0, "stream": True})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "max_tokens" in r.json()["message"]


def test_invocations_stream_false_is_a_bare_list(server: str) -> None:
    r = httpx.post(f"{server}/invocations", json={"messages": SPAIN, "max_tokens": 20, "stream": False})
    assert r.status_code == 200 and r.json()[0]["choices"][0]["message"]["content"] == SPAIN_ANSWER


def test_openai_client_chat(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    [model] = client.models.list().data
    reply = client.chat.completions.create(model=model.id, messages=SPAIN, max_tokens=20)
    assert reply.choices[0].message.content == SPAIN_ANSWER and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens == 8
    reply = client.chat.completions.create(model=model.id, messages=CODER, max_tokens=20, stop="world", n=2)
    assert [c.message.content for c in reply.choices] == ["print('hello "] * 2  # OpenAI drops the stop string
    assert reply.choices[0].finish_reason == "stop"


def test_invocations_keeps_the_stop_string(server: str) -> None:
    """/invocations answers as MLflow does: the stop string stays in the text (OpenAI's /v1 drops it)."""
    r = httpx.post(f"{server}/invocations", json={"messages": SPAIN, "stop": ["Madrid"]})
    assert r.status_code == 200, r.text
    assert r.json()[0]["choices"][0]["message"]["content"] == "The capital of Spain is Madrid"
    body = {"messages": SPAIN, "stop": ["Madrid"], "stream": True}
    with httpx.stream("POST", f"{server}/invocations", json=body) as r:
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "The capital of Spain is Madrid"


def test_openai_client_streaming_drops_the_stop_string(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    stream = client.chat.completions.create(model="m", messages=SPAIN, stop=["Madrid", "xyz"], stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "The capital of Spain is "
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "stop"


def test_openai_client_streaming(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    stream = client.chat.completions.create(model="any", messages=SPAIN, max_tokens=20, stream=True)
    chunks = list(stream)
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == SPAIN_ANSWER
    assert all(c.usage is None for c in chunks)


def test_openai_client_streaming_with_usage(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="any", messages=SPAIN, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (13, 8)  # as non-streamed
    assert all(c.usage is None for c in chunks[:-1])


def test_sse_wire_format(server: str) -> None:
    with httpx.stream("POST", f"{server}/v1/chat/completions", json={"messages": SPAIN, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][len("data: ") :])["object"] == "chat.completion.chunk"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m"}, "'messages' is required"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role must be one of"),
        ({"messages": SPAIN, "max_tokens": -1}, "'max_tokens' must be a positive integer"),
        ({"messages": [{"role": "user", "content": "word " * 600}]}, "context length"),
        ({"messages": [{"role": "user", "content": "word " * 600}], "stream": True}, "context length"),
    ],
)
def test_v1_bad_requests_in_openai_shape(server: str, body: dict[str, Any], message: str) -> None:
    r = httpx.post(f"{server}/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and message in error["message"]


def test_openai_client_raises_bad_request(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="role must be one of"):
        client.chat.completions.create(model="m", messages=[{"role": "robot", "content": "x"}])  # type: ignore[misc]


def test_concurrent_requests_are_answered_correctly(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")

    def ask(messages: list[dict[str, str]]) -> str:
        reply = client.chat.completions.create(model="m", messages=messages, max_tokens=20)  # type: ignore[arg-type]
        return reply.choices[0].message.content or ""

    work = [SPAIN, CODER] * 8
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, work))
    assert answers == [SPAIN_ANSWER, CODER_ANSWER] * 8


def test_non_chat_model_has_no_v1_routes() -> None:
    from mltrail.serving.openai import is_chat_model

    assert not is_chat_model(object())
