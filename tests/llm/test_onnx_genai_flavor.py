"""The ``mltrail.onnx_genai`` flavor on the tiny Phi-3 (ONNX GenAI int4): save/log/load, chat predict, streaming."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from mltrail.errors import MltrailError
from tests.llm.tiny_phi3 import CODER, CODER_ANSWER, COOKBOOK_PROMPT, SPAIN, SPAIN_ANSWER

pytest.importorskip("onnxruntime_genai")


@pytest.fixture(scope="module")
def model_dir(tiny_phi3_dirs: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    import mltrail.onnx_genai

    path = tmp_path_factory.mktemp("onnx-genai") / "chat"
    mltrail.onnx_genai.save_model(tiny_phi3_dirs[1], path, model_config={"max_tokens": 24})
    return str(path)


@pytest.fixture(scope="module")
def chat(model_dir: str) -> Any:
    import mltrail.pyfunc

    return mltrail.pyfunc.load_model(model_dir)


def test_saved_files_and_mlmodel(model_dir: str, tiny_phi3_dirs: tuple[str, str]) -> None:
    import yaml

    root = Path(model_dir)
    assert sorted(p.name for p in (root / "model").iterdir()) == sorted(
        p.name for p in Path(tiny_phi3_dirs[1]).iterdir()
    )
    mlmodel = yaml.safe_load((root / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mltrail.onnx_genai"
    assert mlmodel["flavors"]["python_function"]["config"] == {"max_tokens": 24}
    conf = mlmodel["flavors"]["onnx_genai"]
    assert conf["model_dir"] == "model" and conf["inference_task"] == "llm/v1/chat" and conf["model_type"] == "phi3"
    assert mlmodel["metadata"] == {"task": "llm/v1/chat"}
    inputs = {c["name"]: c for c in json.loads(mlmodel["signature"]["inputs"])}
    assert inputs["messages"]["required"] and {"temperature", "max_tokens", "stop", "n", "top_p"} <= set(inputs)
    assert "onnxruntime-genai==" in (root / "requirements.txt").read_text()


def test_lazy_top_level_module() -> None:
    import mltrail

    assert mltrail.onnx_genai.FLAVOR_NAME == "onnx_genai"
    assert "onnx_genai" in dir(mltrail)


def test_predict_chat_completion(chat: Any) -> None:
    [out] = chat.predict({"messages": SPAIN})
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    assert out["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": SPAIN_ANSWER}, "finish_reason": "stop"}
    ]
    assert out["usage"] == {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}  # <|end|> counted


def test_several_requests_are_generated_in_one_batch(chat: Any) -> None:
    """Different prompt lengths in one right-padded batch still give each request its own answer."""
    rows = [{"messages": SPAIN}, {"messages": CODER}, {"messages": [{"role": "user", "content": "Say hello."}]}]
    answers = [o["choices"][0]["message"]["content"] for o in chat.predict(rows)]
    assert answers == [SPAIN_ANSWER, CODER_ANSWER, "Hello! How can I help you today?"]


def test_max_tokens_stop_and_n(chat: Any) -> None:
    [out] = chat.predict({"messages": SPAIN, "max_tokens": 3})
    assert out["choices"][0]["message"]["content"] == "The capital of"
    assert out["choices"][0]["finish_reason"] == "length" and out["usage"]["completion_tokens"] == 3
    [out] = chat.predict({"messages": SPAIN, "stop": ["Madrid"]})  # kept, as MLflow does
    assert out["choices"][0]["message"]["content"] == "The capital of Spain is Madrid"
    assert out["choices"][0]["finish_reason"] == "stop"
    [out] = chat.predict({"messages": SPAIN, "n": 2})
    assert [c["message"]["content"] for c in out["choices"]] == [SPAIN_ANSWER] * 2
    assert [c["index"] for c in out["choices"]] == [0, 1]


def test_sampling_options(chat: Any) -> None:
    # top_k=1 samples from the single most likely token: the greedy answer, through the sampling path
    [out] = chat.predict({"messages": SPAIN, "temperature": 1.5, "top_k": 1, "n": 3})
    assert [c["message"]["content"] for c in out["choices"]] == [SPAIN_ANSWER] * 3
    assert out["usage"]["completion_tokens"] == 24
    [out] = chat.predict({"messages": SPAIN, "temperature": 0.7, "top_p": 0.5})
    assert out["choices"][0]["message"]["content"] == SPAIN_ANSWER  # memorized: the answer dominates


def test_predict_stream_yields_chunks(chat: Any) -> None:
    chunks = list(chat.predict_stream({"messages": SPAIN}))
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == SPAIN_ANSWER
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[:3]] == ["The", " capital", " of"]


def test_predict_stream_with_stop_and_length(chat: Any) -> None:
    chunks = list(chat.predict_stream({"messages": SPAIN, "stop": ["Spain is"]}))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "The capital of Spain is"
    chunks = list(chat.predict_stream({"messages": SPAIN, "max_tokens": 2}))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "The capital"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "'messages' is required"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role must be one of"),
        ({"messages": SPAIN, "max_tokens": 0}, "'max_tokens' must be a positive integer"),
        ({"messages": [{"role": "user", "content": "word " * 600}]}, "context length is 512 tokens"),
    ],
)
def test_bad_requests(chat: Any, body: dict[str, Any], message: str) -> None:
    with pytest.raises(MltrailError, match=message) as caught:
        chat.predict(body)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MltrailError, match=message):
        list(chat.predict_stream(body))


def test_load_model_returns_the_generator(model_dir: str) -> None:
    import onnxruntime_genai as og

    import mltrail.onnx_genai
    from mltrail.models.llm import parse_chat_request

    generator = mltrail.onnx_genai.load_model(model_dir)
    assert isinstance(generator.model, og.Model) and isinstance(generator.tokenizer, og.Tokenizer)
    assert generator.context_length == 512
    [(prompt_tokens, [generation])] = generator.generate([parse_chat_request({"messages": CODER})])
    assert generation.text == CODER_ANSWER and prompt_tokens == 26


def test_completions_task_takes_a_raw_prompt(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    """The Cookbook's hand-written prompt, as a ``llm/v1/completions`` model."""
    import mltrail.onnx_genai
    import mltrail.pyfunc

    mltrail.onnx_genai.save_model(tiny_phi3_dirs[1], tmp_path / "m", task="llm/v1/completions")
    model = mltrail.pyfunc.load_model(str(tmp_path / "m"))
    [out] = model.predict({"prompt": COOKBOOK_PROMPT, "max_tokens": 20})
    assert out["object"] == "text_completion" and out["choices"][0]["text"] == CODER_ANSWER
    pieces = list(model.predict_stream({"prompt": COOKBOOK_PROMPT}))
    assert "".join(p["choices"][0]["text"] for p in pieces) == CODER_ANSWER
    assert model.metadata.metadata == {"task": "llm/v1/completions"}


def test_save_rejects_bad_input(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    import mltrail.onnx_genai

    with pytest.raises(MltrailError, match="not an ONNX Runtime GenAI model folder"):
        mltrail.onnx_genai.save_model(tiny_phi3_dirs[0], tmp_path / "a")  # the Hugging Face folder
    with pytest.raises(MltrailError, match="task must be one of"):
        mltrail.onnx_genai.save_model(tiny_phi3_dirs[1], tmp_path / "b", task="text-generation")


def test_log_model_register_and_load_by_uri(tiny_phi3_dirs: tuple[str, str], clean_fluent_state: Path) -> None:
    import mltrail
    import mltrail.onnx_genai
    import mltrail.pyfunc

    mltrail.set_tracking_uri(f"sqlite:///{clean_fluent_state / 'mltrail.db'}")
    with mltrail.start_run():
        info = mltrail.onnx_genai.log_model(
            tiny_phi3_dirs[1], name="phi3-onnx", model_config={"max_tokens": 20}, registered_model_name="phi3-onnx"
        )
    assert info.registered_model_version == 1
    for uri in (info.model_uri, "models:/phi3-onnx/1"):
        [out] = mltrail.pyfunc.load_model(uri).predict({"messages": SPAIN})
        assert out["choices"][0]["message"]["content"] == SPAIN_ANSWER


def test_chat_batcher_combines_concurrent_requests(chat: Any) -> None:
    """The server's batcher: a request that finds the model idle runs alone, the ones arriving meanwhile together."""
    from mltrail.models.generation import LLMRequest
    from mltrail.models.llm import llm_pyfunc_of, parse_chat_request
    from mltrail.serving.openai import llm_batcher

    llm = llm_pyfunc_of(chat)
    assert llm is not None
    calls: list[int] = []

    def complete(requests: list[LLMRequest]) -> list[dict[str, Any]]:
        calls.append(len(requests))
        return llm.complete(requests)

    async def run() -> list[Any]:
        batcher = llm_batcher(complete)
        try:
            return await asyncio.gather(
                *(batcher.submit(parse_chat_request({"messages": m})) for m in [SPAIN, CODER] * 4)
            )
        finally:
            await batcher.close()

    answers = [o["choices"][0]["message"]["content"] for o in asyncio.run(run())]
    assert answers == [SPAIN_ANSWER, CODER_ANSWER] * 4
    assert calls == [1, 7]


def test_example_script_logs_registers_and_answers(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    """examples/phi3/log_onnx_genai_model.py end to end, in its own process and tracking store."""
    import os
    import subprocess
    import sys

    from tests.llm.tiny_phi3 import ROOT

    script = ROOT / "examples" / "phi3" / "log_onnx_genai_model.py"
    env = {**os.environ, "MLTRAIL_TRACKING_URI": f"sqlite:///{tmp_path / 'mltrail.db'}"}
    done = subprocess.run(
        [sys.executable, str(script), "--onnx-dir", tiny_phi3_dirs[1]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("logged models:/m-") and lines[1:] == [SPAIN_ANSWER, SPAIN_ANSWER]
