"""The transformers flavor with llm/v1/chat and llm/v1/completions on the tiny trained Phi-3."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mltrail.errors import MltrailError
from tests.llm.tiny_phi3 import CODER, CODER_ANSWER, SPAIN, SPAIN_ANSWER

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def chat_model_dir(tiny_phi3_dirs: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A chat model saved from a pipeline whose source folder is then deleted (stop must not need it)."""
    import mltrail.transformers

    source = tmp_path_factory.mktemp("source") / "tiny"
    shutil.copytree(tiny_phi3_dirs[0], source)
    pipe = transformers.pipeline("text-generation", model=str(source))
    path = str(tmp_path_factory.mktemp("chat") / "model")
    mltrail.transformers.save_model(pipe, path, task="llm/v1/chat")
    shutil.rmtree(source)
    return path


@pytest.fixture(scope="module")
def chat(chat_model_dir: str) -> Any:
    import mltrail.pyfunc

    return mltrail.pyfunc.load_model(chat_model_dir)


def test_saved_files_and_mlmodel(chat_model_dir: str) -> None:
    from mltrail.models.model import Model

    meta = Model.load(os.path.join(chat_model_dir, "MLmodel"))
    assert meta.metadata == {"task": "llm/v1/chat"}
    conf = meta.flavors["transformers"]
    assert conf["inference_task"] == "llm/v1/chat" and conf["task"] == "text-generation"
    assert conf["components"] == ["tokenizer"] and conf["instance_type"] == "TextGenerationPipeline"
    assert meta.flavors["python_function"]["loader_module"] == "mlflow.transformers"
    inputs = meta.signature.inputs.input_names()
    assert inputs[0] == "messages" and {"temperature", "max_tokens", "stop", "n", "top_p", "top_k"} <= set(inputs)
    assert {"id", "object", "created", "model", "choices", "usage"} <= set(meta.signature.outputs.input_names())
    assert (Path(chat_model_dir) / "model" / "model.safetensors").exists()
    assert (Path(chat_model_dir) / "components" / "tokenizer" / "tokenizer.json").exists()
    requirements = (Path(chat_model_dir) / "requirements.txt").read_text()
    assert "transformers==" in requirements and "torch==" in requirements and "torchvision" not in requirements


def test_predict_returns_chat_completion(chat: Any) -> None:
    [out] = chat.predict({"messages": SPAIN, "max_tokens": 20})
    assert out["object"] == "chat.completion" and out["id"] and isinstance(out["created"], int)
    assert out["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": SPAIN_ANSWER}, "finish_reason": "stop"}
    ]
    assert out["usage"] == {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}  # <|end|> counted


def test_system_prompt_and_several_rows(chat: Any) -> None:
    import pandas as pd

    frame = pd.DataFrame([{"messages": SPAIN, "max_tokens": 30}, {"messages": CODER, "max_tokens": 30}])
    outs = chat.predict(frame)
    assert [o["choices"][0]["message"]["content"] for o in outs] == [SPAIN_ANSWER, CODER_ANSWER]


def test_max_tokens_gives_length(chat: Any) -> None:
    [out] = chat.predict({"messages": SPAIN, "max_tokens": 3})
    assert out["choices"][0]["message"]["content"] == "The capital of"
    assert out["choices"][0]["finish_reason"] == "length" and out["usage"]["completion_tokens"] == 3


def test_stop_without_the_source_folder(chat: Any) -> None:
    [out] = chat.predict({"messages": SPAIN, "max_tokens": 20, "stop": ["Madrid"]})
    assert out["choices"][0]["message"]["content"] == "The capital of Spain is Madrid"
    assert out["choices"][0]["finish_reason"] == "stop"


def test_n_and_sampling(chat: Any) -> None:
    import torch

    [greedy] = chat.predict({"messages": SPAIN, "max_tokens": 20, "n": 3, "temperature": 0.0})
    assert [c["message"]["content"] for c in greedy["choices"]] == [SPAIN_ANSWER] * 3
    assert [c["index"] for c in greedy["choices"]] == [0, 1, 2]
    torch.manual_seed(0)
    [sampled] = chat.predict({"messages": SPAIN, "max_tokens": 20, "n": 8, "temperature": 2.0, "top_p": 1.0})
    texts = [c["message"]["content"] for c in sampled["choices"]]
    assert len(texts) == 8 and any(t != SPAIN_ANSWER for t in texts)


def test_predict_stream_yields_chunks(chat: Any) -> None:
    chunks = list(chat.predict_stream({"messages": SPAIN, "max_tokens": 20}))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == SPAIN_ANSWER and len(chunks) > 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}


def test_predict_stream_with_stop(chat: Any) -> None:
    chunks = list(chat.predict_stream({"messages": SPAIN, "max_tokens": 20, "stop": ["Spain"]}))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "The capital of Spain"


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"messages": []}, "'messages' is required"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role must be one of"),
        ({"messages": SPAIN, "max_tokens": 0}, "'max_tokens' must be a positive integer"),
        ({"messages": SPAIN, "n": 0}, "'n' must be a positive integer"),
        ({"messages": [{"role": "user", "content": "word " * 600}]}, "context length is 512"),
    ],
)
def test_bad_requests(chat: Any, request_body: dict[str, Any], message: str) -> None:
    with pytest.raises(MltrailError) as info:
        chat.predict(request_body)
    assert message in info.value.message and info.value.http_status == 400


def test_load_model_returns_pipeline(chat_model_dir: str) -> None:
    import mltrail.transformers

    pipe = mltrail.transformers.load_model(chat_model_dir)
    out = pipe(SPAIN, max_new_tokens=20, do_sample=False)
    assert out[0]["generated_text"][-1]["content"] == SPAIN_ANSWER
    components = mltrail.transformers.load_model(chat_model_dir, return_type="components")
    assert {"model", "tokenizer", "task"} <= set(components)


def test_completions_task(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    import mltrail.pyfunc
    import mltrail.transformers
    from tests.llm.tiny_phi3 import COOKBOOK_PROMPT

    pipe = transformers.pipeline("text-generation", model=tiny_phi3_dirs[0])
    mltrail.transformers.save_model(pipe, tmp_path / "m", task="llm/v1/completions")
    model = mltrail.pyfunc.load_model(str(tmp_path / "m"))
    [out] = model.predict({"prompt": COOKBOOK_PROMPT, "max_tokens": 20})
    assert out["object"] == "text_completion" and out["choices"][0]["text"] == CODER_ANSWER
    assert model.metadata.metadata == {"task": "llm/v1/completions"}


def test_plain_text_generation_pipeline(tiny_phi3_dirs: tuple[str, str], tmp_path: Path) -> None:
    import mltrail.pyfunc
    import mltrail.transformers
    from tests.llm.tiny_phi3 import COOKBOOK_PROMPT

    pipe = transformers.pipeline("text-generation", model=tiny_phi3_dirs[0])
    mltrail.transformers.save_model(pipe, tmp_path / "m", model_config={"max_new_tokens": 20, "do_sample": False})
    model = mltrail.pyfunc.load_model(str(tmp_path / "m"))
    assert model.predict([COOKBOOK_PROMPT]) == [CODER_ANSWER]


def test_log_model_and_load_by_uri(tiny_phi3_dirs: tuple[str, str], clean_fluent_state: Path) -> None:
    import mltrail
    import mltrail.pyfunc
    import mltrail.transformers

    mltrail.set_tracking_uri(f"sqlite:///{clean_fluent_state / 'mltrail.db'}")
    pipe = transformers.pipeline("text-generation", model=tiny_phi3_dirs[0])
    with mltrail.start_run():
        info = mltrail.transformers.log_model(pipe, name="phi3", task="llm/v1/chat", model_config={"max_tokens": 20})
    model = mltrail.pyfunc.load_model(info.model_uri)
    [out] = model.predict({"messages": SPAIN})
    assert out["choices"][0]["message"]["content"] == SPAIN_ANSWER
