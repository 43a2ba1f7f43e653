"""The ONNX Runtime GenAI flavor: an ONNX GenAI model folder (Phi-3, Llama, ...) as an OpenAI-style chat model.

``save_model(onnx_model="path/to/folder", path=...)`` copies the folder (``genai_config.json``, ``model.onnx``,
``model.onnx.data``, the tokenizer files) into the model's ``model/`` directory and writes an ``MLmodel`` with a
``python_function`` flavor (``loader_module: mltrail.onnx_genai``), the ``onnx_genai`` flavor, MLflow's
``llm/v1/chat`` signature and ``metadata.task``. Its pyfunc answers ``{"messages": [...], "max_tokens",
"temperature", "top_p", "top_k", "n", "stop"}`` with ``chat.completion`` objects (the tokenizer's chat template
applied to the messages), and ``predict_stream`` yields ``chat.completion.chunk`` objects; several requests in one
call are generated in one batch. With ``task="llm/v1/completions"`` it takes a raw ``{"prompt": "..."}`` (for
example the Phi-3 Cookbook's hand-written ``<|user|>...<|end|><|assistant|>`` prompts) and returns
``text_completion`` objects.

``mltrail models serve`` serves a chat model on ``/invocations`` and on ``/v1/chat/completions`` (streamed over
server-sent events), with concurrent requests batched.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.models import flavor
from mltrail.models.example import save_example
from mltrail.models.llm import LLM_TASKS, TASK_CHAT, llm_signature
from mltrail.models.model import Model
from mltrail.onnx_genai._generate import GenAIGenerator, read_genai_config

if TYPE_CHECKING:
    from mltrail.models.llm import LLMPyfunc
    from mltrail.models.model import ModelInfo
    from mltrail.models.signature import ModelSignature

FLAVOR_NAME = "onnx_genai"
LOADER_MODULE = "mltrail.onnx_genai"
MODEL_DIR = "model"

__all__ = ["FLAVOR_NAME", "GenAIGenerator", "load_model", "log_model", "save_model"]


def _runtime_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("onnxruntime-genai")
    except PackageNotFoundError:
        return None


def save_model(
    onnx_model: str | os.PathLike[str],
    path: str | os.PathLike[str],
    task: str = TASK_CHAT,
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
    """Save an ONNX Runtime GenAI model folder as an mltrail (MLflow-format) model directory.

    Args:
        onnx_model: the ONNX GenAI model folder (with ``genai_config.json``), for example the output of
            ``python -m onnxruntime_genai.models.builder`` or a downloaded ``Phi-3-mini-4k-instruct-onnx`` variant.
        path: the new model directory.
        task: ``"llm/v1/chat"`` (messages in, ``chat.completion`` out; the default) or ``"llm/v1/completions"``
            (a raw prompt in, ``text_completion`` out).
        model_config: default inference options (``max_tokens``, ``temperature``, ``top_p``, ``top_k``),
            overridable per request and at load time.
        signature: the signature (default: MLflow's signature of ``task``); ``False`` for none.
        input_example: example input, saved with the model.
        pip_requirements, extra_pip_requirements, conda_env: the model's environment (default: the installed
            ``onnxruntime-genai``, pinned).
        code_paths: files or directories copied into ``code/``.
        mlflow_model: the Model to fill in (``log_model`` passes one).
        metadata: user metadata for ``MLmodel`` (``task`` is added).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE for a folder without ``genai_config.json`` or another task;
            RESOURCE_ALREADY_EXISTS for a non-empty ``path``.
    """
    source = os.path.abspath(os.fspath(onnx_model))
    path = os.fspath(path)
    if task not in LLM_TASKS:
        raise errors.invalid(f"task must be one of {list(LLM_TASKS)}, got {task!r}")
    genai_config = read_genai_config(source)
    model = flavor.start_save(path, mlflow_model)
    save_example(model, input_example, path)
    shutil.copytree(source, os.path.join(path, MODEL_DIR), ignore=shutil.ignore_patterns("__pycache__"))
    code = flavor.copy_code_paths(code_paths, path)
    flavor.set_signature(model, llm_signature(task) if signature is None else signature, None)
    flavor.add_pyfunc_flavor(model, loader_module=LOADER_MODULE, code=code, model_config=model_config)
    model.add_flavor(
        FLAVOR_NAME,
        model_dir=MODEL_DIR,
        inference_task=task,
        model_type=genai_config["model"].get("type"),
        source_model_name=source,
        onnxruntime_genai_version=_runtime_version(),
        code=code,
    )
    flavor.finish_save(
        path,
        model,
        metadata={**(metadata or {}), "task": task},
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        loader_modules=["onnxruntime_genai"],
    )


def log_model(
    onnx_model: str | os.PathLike[str],
    name: str | None = None,
    task: str = TASK_CHAT,
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
    """Log an ONNX GenAI model folder as a logged model (of the active run, if any); see :func:`save_model`.

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
        onnx_model=onnx_model,
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


def load_model(
    model_uri: str | os.PathLike[str], dst_path: str | None = None, model_config: dict[str, Any] | None = None
) -> GenAIGenerator:
    """Load a saved model as a :class:`GenAIGenerator` (``.model`` and ``.tokenizer`` are onnxruntime-genai's).

    Args:
        model_uri: a local path or a model URI (``runs:/``, ``models:/``, ...).
        dst_path: where to download a remote model.
        model_config: default inference options (see :func:`save_model`).

    Raises:
        MltrailError: INVALID_PARAMETER_VALUE when the model has no onnx_genai flavor.
    """
    from mltrail.models.uris import download_model

    local = download_model(model_uri, dst_path)
    conf = flavor.flavor_conf(local, FLAVOR_NAME)
    return GenAIGenerator(os.path.join(local, conf.get("model_dir", MODEL_DIR)), model_config)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> LLMPyfunc:
    """The pyfunc implementation for the model directory ``path``."""
    from mltrail.models.llm import LLMPyfunc

    conf = flavor.flavor_conf(path, FLAVOR_NAME)
    generator = GenAIGenerator(os.path.join(path, conf.get("model_dir", MODEL_DIR)), model_config)
    name = str(conf.get("source_model_name") or conf.get("model_type") or "onnx-genai")
    return LLMPyfunc(generator, conf.get("inference_task", TASK_CHAT), name)
