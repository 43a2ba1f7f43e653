"""The transformers flavor: save, log and load Hugging Face pipelines, including OpenAI-style chat models.

Files and ``MLmodel`` keys are MLflow's (``model/`` with the weights, ``components/tokenizer/``, and the
``transformers`` flavor's ``task``, ``instance_type``, ``pipeline_model_type``, ``source_model_name``,
``components``, ``model_binary``, ``framework``, ``torch_dtype``, ``transformers_version``, ``inference_task``),
so models move between mltrail and MLflow.

With ``task="llm/v1/chat"`` (or ``"llm/v1/completions"``) a text-generation pipeline gets MLflow's chat signature
and ``metadata.task``, and its pyfunc answers ``{"messages": [...], "max_tokens", "temperature", "top_p",
"top_k", "n", "stop"}`` with ``chat.completion`` objects; ``predict_stream`` yields ``chat.completion.chunk``
objects. Other pipelines (text2text-generation, summarization, text-classification, fill-mask,
feature-extraction, ...) are called with their natural input.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.models import flavor
from mltrail.models.example import save_example
from mltrail.models.llm import LLM_TASKS, llm_signature
from mltrail.models.model import Model

if TYPE_CHECKING:
    from mltrail.models.model import ModelInfo
    from mltrail.models.signature import ModelSignature

__all__ = [
    "COMPONENTS_DIR",
    "FLAVOR_NAME",
    "LOADER_MODULE",
    "MODEL_BINARY",
    "SEQ2SEQ_TASKS",
    "Seq2SeqPipeline",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "transformers"
LOADER_MODULE = "mlflow.transformers"
MODEL_BINARY = "model"
COMPONENTS_DIR = "components"
_COMPONENTS = ("tokenizer", "feature_extractor", "image_processor", "processor")
#: Pipeline tasks that transformers 5 removed; :class:`Seq2SeqPipeline` stands in for them.
SEQ2SEQ_TASKS = ("text2text-generation", "summarization", "translation")

_logger = logging.getLogger(__name__)


def _as_pipeline(transformers_model: Any, task: str | None) -> Any:
    """A pipeline from a pipeline or MLflow's ``{"model": ..., "tokenizer": ...}`` dict."""
    import transformers

    if isinstance(transformers_model, (transformers.Pipeline, Seq2SeqPipeline)):
        return transformers_model
    if isinstance(transformers_model, dict) and "model" in transformers_model:
        pipeline_task = task if task and task not in LLM_TASKS else None
        if pipeline_task is None and task in LLM_TASKS:
            pipeline_task = "text-generation"
        if pipeline_task in SEQ2SEQ_TASKS and not _has_pipeline_task(pipeline_task):
            return Seq2SeqPipeline(pipeline_task, transformers_model["model"], transformers_model.get("tokenizer"))
        return transformers.pipeline(task=pipeline_task, **transformers_model)
    raise errors.invalid(
        "transformers_model must be a transformers.Pipeline or a dict with 'model' and 'tokenizer', "
        f"got {type(transformers_model).__name__}"
    )


def save_model(
    transformers_model: Any,
    path: str | os.PathLike[str],
    task: str | None = None,
    model_config: dict[str, Any] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
    code_paths: Sequence[str] | None = None,
    mlflow_model: Model | None = None,
    metadata: dict[str, Any] | None = None,
    **_ignored: Any,
) -> None:
    """Save a ``transformers`` pipeline as an MLflow model directory.

    Args:
        transformers_model: a ``transformers.Pipeline`` (or ``{"model": ..., "tokenizer": ...}``).
        path: the new model directory.
        task: ``"llm/v1/chat"`` or ``"llm/v1/completions"`` for an OpenAI-style text-generation model, or a
            pipeline task (default: the pipeline's own task).
        model_config: default inference options (``max_tokens``/``max_new_tokens``, ``temperature``, ``top_p``,
            ``top_k``), overridable per request and at load time.
        signature: the signature; for LLM tasks MLflow's chat/completions signature is used when None.
        input_example: example input, saved with the model.
        pip_requirements, extra_pip_requirements, conda_env: the model's environment (default: pinned
            ``transformers`` and ``torch``; torchvision is not added).
        code_paths: files or directories copied into ``code/``.
        mlflow_model: the Model to fill in (``log_model`` passes one).
        metadata: user metadata for ``MLmodel`` (``task`` is added for LLM tasks).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for an LLM task on a pipeline that is not text-generation, or an
            unsupported object; RESOURCE_ALREADY_EXISTS for a non-empty ``path``.
    """
    import transformers

    path = os.fspath(path)
    pipeline = _as_pipeline(transformers_model, task)
    if task in LLM_TASKS and pipeline.task != "text-generation":
        raise errors.invalid(f"task={task!r} needs a text-generation pipeline, got a {pipeline.task!r} pipeline")
    model = flavor.start_save(path, mlflow_model)
    example = save_example(model, input_example, path)
    pipeline.model.save_pretrained(os.path.join(path, MODEL_BINARY))
    components = []
    for name in _COMPONENTS:
        component = getattr(pipeline, name, None)
        if component is not None and hasattr(component, "save_pretrained"):
            component.save_pretrained(os.path.join(path, COMPONENTS_DIR, name))
            components.append(name)
    code = flavor.copy_code_paths(code_paths, path)
    if task in LLM_TASKS:
        if signature is None:
            signature = llm_signature(task)
        metadata = {**(metadata or {}), "task": task}
        flavor.set_signature(model, signature, None)
    else:
        flavor.set_signature(model, signature, example, lambda data, params: _Wrapper(pipeline, None).predict(data))
    flavor.add_pyfunc_flavor(model, loader_module=LOADER_MODULE, code=code, model_config=model_config)
    source = getattr(pipeline.model, "name_or_path", None) or ""
    torch_dtype = getattr(pipeline.model, "dtype", None)
    conf: dict[str, Any] = {
        "code": code,
        "components": components,
        "framework": "pt",
        "instance_type": _instance_type(pipeline),
        "model_binary": MODEL_BINARY,
        "pipeline_model_type": type(pipeline.model).__name__,
        "source_model_name": source,
        "task": pipeline.task,
        "torch_dtype": str(torch_dtype) if torch_dtype is not None else None,
        "transformers_version": transformers.__version__,
    }
    if getattr(pipeline, "tokenizer", None) is not None:
        conf["tokenizer_type"] = type(pipeline.tokenizer).__name__
    if task in LLM_TASKS:
        conf["inference_task"] = task
    model.add_flavor(FLAVOR_NAME, **conf)
    if pip_requirements is None and conda_env is None and extra_pip_requirements is None:
        import torch

        pip_requirements = [f"transformers=={transformers.__version__}", f"torch=={torch.__version__.split('+')[0]}"]
    flavor.finish_save(
        path,
        model,
        metadata=metadata,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        loader_modules=["transformers", "torch"],
    )


def log_model(
    transformers_model: Any,
    name: str | None = None,
    task: str | None = None,
    model_config: dict[str, Any] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: str | Sequence[str] | None = None,
    extra_pip_requirements: str | Sequence[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
    code_paths: Sequence[str] | None = None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    artifact_path: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a pipeline as a logged model (of the active run, if any); see :func:`save_model` for the arguments.

    Returns:
        The :class:`~mltrail.models.model.ModelInfo`; ``model_uri`` is ``models:/<model_id>``.
    """
    return flavor.log_model(
        sys.modules[__name__],
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        metadata=metadata,
        transformers_model=transformers_model,
        task=task,
        model_config=model_config,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        code_paths=code_paths,
        **kwargs,
    )


# ------------------------------------------------------------------------------------------------- load
def _has_pipeline_task(task: str) -> bool:
    """Whether the installed transformers still has the pipeline ``task`` (5.x removed the seq2seq ones)."""
    from transformers.pipelines import check_task

    try:
        check_task(task)
    except KeyError:
        return False
    return True


def _make_pipeline(task: str | None, components: dict[str, Any]) -> Any:
    import transformers

    if task in SEQ2SEQ_TASKS and not _has_pipeline_task(task):
        return Seq2SeqPipeline(task, components["model"], components.get("tokenizer"))
    return transformers.pipeline(task=task, **components)


def _instance_type(pipeline: Any) -> str:
    """The pipeline class name MLflow records (the transformers 4 name for :class:`Seq2SeqPipeline`)."""
    if isinstance(pipeline, Seq2SeqPipeline):
        names = {"summarization": "SummarizationPipeline", "text2text-generation": "Text2TextGenerationPipeline"}
        return names.get(pipeline.task, "TranslationPipeline")
    return type(pipeline).__name__


class Seq2SeqPipeline:
    """``text2text-generation``/``summarization``/``translation`` for transformers 5, which removed those pipelines.

    Called like the 4.x pipelines: ``pipe(texts, max_new_tokens=..., **generate_kwargs)`` returns one
    ``{"generated_text" | "summary_text" | "translation_text": str}`` per text; models saved by MLflow (or by
    mltrail under transformers 4) with those tasks load into it.
    """

    def __init__(self, task: str, model: Any, tokenizer: Any) -> None:
        if tokenizer is None:
            raise errors.invalid(f"A {task} model needs a tokenizer")
        self.task = task
        self.model = model
        self.tokenizer = tokenizer

    def save_pretrained(self, path: str) -> None:
        """Save the model and tokenizer into ``path``."""
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    def __call__(self, texts: str | Sequence[str], **kwargs: Any) -> list[dict[str, str]]:
        import torch

        key = {"summarization": "summary_text"}.get(self.task, "generated_text")
        if self.task.startswith("translation"):
            key = "translation_text"
        batch = [texts] if isinstance(texts, str) else list(texts)
        kwargs.pop("return_full_text", None)
        inputs = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        decoded = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [{key: text.strip()} for text in decoded]


def _load_components(model_dir: str, conf: dict[str, Any], device: Any = None) -> dict[str, Any]:
    import transformers

    binary = os.path.join(model_dir, conf.get("model_binary", MODEL_BINARY))
    task = conf.get("task")
    auto = transformers.AutoModelForCausalLM if task == "text-generation" else None
    if task in SEQ2SEQ_TASKS:
        auto = transformers.AutoModelForSeq2SeqLM
    if auto is not None:
        model = auto.from_pretrained(binary)
    else:
        from transformers.pipelines import check_task

        _, spec, _ = check_task(task)
        model = spec["pt"][0].from_pretrained(binary)
    if device is not None:
        model = model.to(device)
    found: dict[str, Any] = {"model": model}
    loaders = {
        "tokenizer": transformers.AutoTokenizer,
        "feature_extractor": transformers.AutoFeatureExtractor,
        "image_processor": transformers.AutoImageProcessor,
        "processor": transformers.AutoProcessor,
    }
    for name in conf.get("components", []):
        found[name] = loaders[name].from_pretrained(os.path.join(model_dir, COMPONENTS_DIR, name))
    return found


def load_model(
    model_uri: str | os.PathLike[str], dst_path: str | None = None, return_type: str = "pipeline", device: Any = None
) -> Any:
    """Load a saved pipeline (``return_type="pipeline"``) or its parts (``"components"``: a dict).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the model has no transformers flavor or for a bad return_type.
    """
    from mltrail.models.uris import download_model

    if return_type not in ("pipeline", "components"):
        raise errors.invalid(f"return_type must be 'pipeline' or 'components', got {return_type!r}")
    local = download_model(model_uri, dst_path)
    conf = flavor.flavor_conf(local, FLAVOR_NAME)
    components = _load_components(local, conf, device)
    if return_type == "components":
        return {**components, "task": conf.get("task")}
    return _make_pipeline(conf.get("task"), components)


class _Wrapper:
    """The pyfunc implementation: OpenAI-style chat/completions, or the pipeline's natural input and output."""

    def __init__(
        self,
        pipeline: Any,
        inference_task: str | None,
        model_config: dict[str, Any] | None = None,
        model_name: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.inference_task = inference_task
        self.model_config = dict(model_config or {})
        self.model_name = model_name or str(
            getattr(pipeline.model, "name_or_path", "") or type(pipeline.model).__name__
        )
        self.llm: Any = None  # the LLMPyfunc of chat/completions models (the server calls it directly)
        if inference_task in LLM_TASKS:
            from mltrail.models.llm import LLMPyfunc
            from mltrail.transformers._generate import TextGenerator

            generator = TextGenerator(pipeline.model, pipeline.tokenizer, self.model_config)
            self.llm = LLMPyfunc(generator, inference_task, self.model_name)

    def get_raw_model(self) -> Any:
        """The pipeline."""
        return self.pipeline

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Chat/completions objects (one per request row) for LLM tasks, else the pipeline's output."""
        if self.llm is None:
            return _plain_predict(self.pipeline, data, {**self.model_config, **(params or {})})
        return self.llm.predict(data, params)

    def predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Yield ``chat.completion.chunk`` objects (chat) or ``text_completion`` pieces (completions).

        Raises:
            MltrailError: INVALID_PARAMETER_VALUE for a model without an LLM task or more than one request.
        """
        if self.llm is None:
            raise errors.invalid("This model does not support predict_stream method.")
        return self.llm.predict_stream(data, params)


def _texts(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if hasattr(data, "columns"):
        return [str(v) for v in data.iloc[:, 0].tolist()]
    if isinstance(data, dict):
        return [str(v) for v in next(iter(data.values()), [])] if data else []
    if hasattr(data, "tolist"):
        data = data.tolist()
    return [str(v) for v in data]


def _plain_predict(pipeline: Any, data: Any, params: dict[str, Any]) -> Any:
    """The natural pyfunc of a pipeline: a list of strings in, a list of strings (or records) out."""
    texts = _texts(data)
    task = pipeline.task
    kwargs = {k: v for k, v in params.items() if k not in ("max_tokens",)}
    if "max_tokens" in params and task in ("text-generation", "text2text-generation", "summarization"):
        kwargs["max_new_tokens"] = params["max_tokens"]
    if task == "text-generation":
        kwargs.setdefault("return_full_text", False)
    output = pipeline(texts, **kwargs)
    if task in ("text-generation", "text2text-generation", "summarization", "translation"):
        key = {"summarization": "summary_text", "translation": "translation_text"}.get(task, "generated_text")
        return [(o[0] if isinstance(o, list) else o)[key] for o in output]
    if task == "feature-extraction":
        return output
    if task == "fill-mask":
        return [(o[0] if isinstance(o, list) else o)["token_str"] for o in output]
    if task == "text-classification":
        import pandas as pd

        return pd.DataFrame([o[0] if isinstance(o, list) else o for o in output])
    return output


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _Wrapper:
    """The pyfunc implementation for the model directory ``path``."""
    conf = flavor.flavor_conf(path, FLAVOR_NAME)
    components = _load_components(path, conf)
    pipeline = _make_pipeline(conf.get("task"), components)
    return _Wrapper(pipeline, conf.get("inference_task"), model_config, conf.get("source_model_name"))
