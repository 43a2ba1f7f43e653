"""The plain (non-chat) pipelines through the transformers flavor, on tiny locally built models (no hub access).

text2text-generation and summarization were removed from transformers 5; the flavor stands in for them with
``Seq2SeqPipeline`` so that such models (MLflow's included) still save, load and predict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from tests.transformers import tiny_models

TEXTS = ["the cat sat on the mat.", "the dog is blue."]
MASKED = ["the cat [MASK] on the mat.", "the sky is [MASK]."]


def _save_load(pipe: Any, path: Path, example: Any) -> Any:
    import mltrail.pyfunc
    import mltrail.transformers

    mltrail.transformers.save_model(pipe, path, input_example=example)
    return mltrail.pyfunc.load_model(str(path))


def test_fill_mask(tmp_path: Path) -> None:
    pipe = tiny_models.pipeline("fill-mask")
    model = _save_load(pipe, tmp_path / "m", MASKED)
    assert model.metadata.flavors["transformers"]["instance_type"] == "FillMaskPipeline"
    out = model.predict(MASKED)
    assert out == [pipe(t)[0]["token_str"] for t in MASKED]
    assert all(isinstance(x, str) and x for x in out)


def test_text_classification(tmp_path: Path) -> None:
    pipe = tiny_models.pipeline("text-classification")
    model = _save_load(pipe, tmp_path / "m", TEXTS)
    out = model.predict(TEXTS)
    assert list(out.columns) == ["label", "score"] and len(out) == 2
    expected = pipe(TEXTS)
    assert out["label"].tolist() == [e["label"] for e in expected]
    assert out["score"].tolist() == pytest.approx([e["score"] for e in expected], rel=1e-5)
    assert set(out["label"]) <= {"NEGATIVE", "POSITIVE"}
    schema = model.metadata.get_output_schema()
    assert schema is not None and schema.input_names() == ["label", "score"]


def test_feature_extraction(tmp_path: Path) -> None:
    import numpy as np

    pipe = tiny_models.pipeline("feature-extraction")
    model = _save_load(pipe, tmp_path / "m", TEXTS[:1])
    out = model.predict(TEXTS)
    assert len(out) == 2
    first = np.asarray(out[0]).squeeze(0)  # (tokens, hidden)
    assert first.shape == (len(pipe.tokenizer(TEXTS[0])["input_ids"]), 16)
    np.testing.assert_allclose(first, np.asarray(pipe(TEXTS[0])).squeeze(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("task", ["text2text-generation", "summarization"])
def test_seq2seq(task: str, tmp_path: Path) -> None:
    import mltrail.pyfunc
    import mltrail.transformers

    pipe = tiny_models.pipeline(task)
    model = _save_load(pipe, tmp_path / "m", TEXTS)
    conf = model.metadata.flavors["transformers"]
    assert conf["task"] == task
    assert conf["instance_type"] == {"summarization": "SummarizationPipeline"}.get(task, "Text2TextGenerationPipeline")
    model = mltrail.pyfunc.load_model(str(tmp_path / "m"), model_config={"min_new_tokens": 3, "max_tokens": 4})
    out = model.predict(TEXTS)
    key = "summary_text" if task == "summarization" else "generated_text"
    expected = [o[key] for o in pipe(TEXTS, min_new_tokens=3, max_new_tokens=4)]
    assert out == expected and all(isinstance(x, str) and x for x in out)
    reloaded = mltrail.transformers.load_model(str(tmp_path / "m"))
    assert reloaded.task == task and reloaded(TEXTS[0], min_new_tokens=3, max_new_tokens=4)[0][key] == expected[0]


def test_seq2seq_from_components_dict(tmp_path: Path) -> None:
    import mltrail.transformers

    pipe = tiny_models.pipeline("text2text-generation")
    path = tmp_path / "m"
    mltrail.transformers.save_model({"model": pipe.model, "tokenizer": pipe.tokenizer}, path, task="summarization")
    parts = mltrail.transformers.load_model(str(path), return_type="components")
    assert parts["task"] == "summarization" and type(parts["model"]).__name__ == "T5ForConditionalGeneration"
