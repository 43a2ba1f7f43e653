"""The ``MLmodel`` file: a model's flavors, signature and metadata, in MLflow 3.x's YAML format (§3.1).

Keys written always: ``artifact_path`` and ``run_id`` (each omitted when None), ``flavors``, ``model_id``,
``model_uuid``, ``prompts``, ``utc_time_created``, ``mlflow_version`` (omitted when None, which is what
mltrail writes: it records ``mltrail_version`` instead); when set: ``signature`` (with
``is_signature_from_type_hint`` and ``type_hint_from_example``), ``saved_input_example_info``, ``metadata``,
``resources``, ``model_size_bytes``, ``auth_policy``, ``env_vars``. Unknown keys read from a file are kept and
written back. The YAML is ``yaml.safe_dump`` output, so keys are sorted as MLflow's are.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mltrail import errors
from mltrail.models.signature import ModelSignature, as_signature

if TYPE_CHECKING:
    from mltrail.entities import LoggedModel
    from mltrail.models.params import ParamSchema
    from mltrail.models.schema import Schema

__all__ = [
    "MLMODEL_FILE_NAME",
    "Model",
    "ModelInfo",
    "get_model_info",
]

MLMODEL_FILE_NAME = "MLmodel"

#: Keys that :class:`Model` handles itself; anything else read from a file is kept in ``Model.extra``.
_KNOWN_KEYS = frozenset(
    {
        "artifact_path",
        "run_id",
        "utc_time_created",
        "flavors",
        "signature",
        "saved_input_example_info",
        "model_uuid",
        "mlflow_version",
        "metadata",
        "model_size_bytes",
        "resources",
        "env_vars",
        "auth_policy",
        "model_id",
        "prompts",
        "is_signature_from_type_hint",
        "type_hint_from_example",
    }
)


def _now() -> str:
    return str(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))


def _mltrail_version() -> str:
    import mltrail

    return mltrail.__version__


class Model:
    """An MLflow model's metadata: what ``MLmodel`` holds.

    Args:
        artifact_path: where the model was logged (3.x: the logged model's artifact location).
        run_id: the run that logged it.
        utc_time_created: creation time, ``'YYYY-MM-DD HH:MM:SS.ffffff'`` (default: now).
        flavors: flavor name -> flavor configuration.
        signature: the :class:`ModelSignature`.
        saved_input_example_info: how the input example was stored.
        model_uuid: a unique id (default: a new uuid4 hex).
        mlflow_version: the MLflow version that wrote it (None for mltrail).
        metadata: free-form user metadata.
        model_size_bytes, resources, env_vars, auth_policy, model_id, prompts: as in MLflow.
        **kwargs: unknown keys, kept and written back.
    """

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, Any] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        mlflow_version: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        resources: Any = None,
        env_vars: list[str] | None = None,
        auth_policy: Any = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = str(utc_time_created or _now())
        self.flavors: dict[str, Any] = flavors if flavors is not None else {}
        self.signature = as_signature(signature)
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid if model_uuid is not None else uuid.uuid4().hex
        self.mlflow_version = mlflow_version
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.resources = resources
        self.env_vars = env_vars
        self.auth_policy = auth_policy
        self.model_id = model_id
        self.prompts = prompts
        if "mltrail_version" not in kwargs and mlflow_version is None:
            kwargs["mltrail_version"] = _mltrail_version()
        self.extra: dict[str, Any] = kwargs

    # ------------------------------------------------------------------------------------------- flavors
    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) a flavor's configuration; returns ``self``."""
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        """The signature's input schema, or None."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """The signature's output schema, or None."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        """The signature's params schema, or None."""
        return self.signature.params if self.signature is not None else None

    # ------------------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """The ``MLmodel`` content as a dict (signature parts as JSON strings)."""
        result: dict[str, Any] = {
            "artifact_path": self.artifact_path,
            "run_id": self.run_id,
            "utc_time_created": self.utc_time_created,
            "flavors": self.flavors,
            "model_uuid": self.model_uuid,
            "mlflow_version": self.mlflow_version,
            "model_id": self.model_id,
            "prompts": self.prompts,
            **self.extra,
        }
        for key in ("artifact_path", "run_id", "mlflow_version"):
            if result[key] is None:
                result.pop(key)
        if self.signature is not None:
            result["signature"] = self.signature.to_dict()
            result["is_signature_from_type_hint"] = self.signature._is_signature_from_type_hint
            result["type_hint_from_example"] = self.signature._is_type_hint_from_example
        optional = {
            "saved_input_example_info": self.saved_input_example_info,
            "metadata": self.metadata,
            "resources": self.resources,
            "model_size_bytes": self.model_size_bytes,
            "auth_policy": self.auth_policy,
            "env_vars": self.env_vars,
        }
        result.update({k: v for k, v in optional.items() if v is not None})
        return result

    def to_yaml(self) -> str:
        """The ``MLmodel`` YAML (``yaml.safe_dump``, sorted keys, block style)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), default_flow_style=False)

    def to_json(self) -> str:
        """The ``MLmodel`` content as JSON."""
        import json

        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.to_yaml()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the YAML to ``path`` (the ``MLmodel`` file itself)."""
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.to_yaml())

    @classmethod
    def from_dict(cls, model_dict: dict[str, Any]) -> Model:
        """Build from a parsed ``MLmodel`` (missing ``model_uuid``/``mlflow_version`` are tolerated)."""
        data = dict(model_dict)
        from_hint = data.pop("is_signature_from_type_hint", False)
        from_example = data.pop("type_hint_from_example", False)
        signature = data.get("signature")
        if isinstance(signature, dict):
            parsed = ModelSignature.from_dict(signature)
            parsed._is_signature_from_type_hint = bool(from_hint)
            parsed._is_type_hint_from_example = bool(from_example)
            data["signature"] = parsed
        data.setdefault("mlflow_version", None)
        if "model_uuid" not in data:
            data["model_uuid"] = None
        model = cls(**{k: v for k, v in data.items() if k in _KNOWN_KEYS and k != "model_uuid"})
        model.model_uuid = data["model_uuid"]
        model.extra = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read an ``MLmodel`` file, or the one in a model directory, or the one of a model URI.

        Args:
            path: a local ``MLmodel`` file or model directory, or any model URI mltrail resolves
                (``runs:/``, ``models:/``, ``file://``, ``mlflow-artifacts:/``, ``http(s)://``).

        Returns:
            The :class:`Model`.

        Raises:
            MltrailError: RESOURCE_DOES_NOT_EXIST when no ``MLmodel`` is there.
        """
        import yaml

        from mltrail.models.uris import download_model_file, is_local

        path = os.fspath(path)
        if is_local(path):
            from mltrail.store.artifacts.local import local_path_from_uri

            local = local_path_from_uri(path)
            file_path = os.path.join(local, MLMODEL_FILE_NAME) if os.path.isdir(local) else local
            if not os.path.isfile(file_path):
                raise errors.not_found(f'Could not find an "{MLMODEL_FILE_NAME}" configuration file at "{path}"')
        else:
            file_path = download_model_file(path, MLMODEL_FILE_NAME)
        with open(file_path, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle) or {})

    def get_model_info(self, logged_model: LoggedModel | None = None) -> ModelInfo:
        """A :class:`ModelInfo` describing this model (``models:/<model_id>`` URI when it has an id)."""
        model_uri = f"models:/{self.model_id}" if self.model_id else f"runs:/{self.run_id}/{self.artifact_path}"
        return ModelInfo(
            artifact_path=self.artifact_path,
            flavors=self.flavors,
            model_uri=model_uri,
            model_uuid=self.model_uuid,
            run_id=self.run_id,
            saved_input_example_info=self.saved_input_example_info,
            signature=self.signature,
            utc_time_created=self.utc_time_created,
            mlflow_version=self.mlflow_version,
            metadata=self.metadata,
            prompts=self.prompts,
            env_vars=self.env_vars,
            model_id=self.model_id,
            logged_model=logged_model,
        )


@dataclass
class ModelInfo:
    """What ``log_model`` returns: where the model went and what it is."""

    artifact_path: str | None
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str | None
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None
    metadata: dict[str, Any] | None = None
    prompts: list[str] | None = None
    env_vars: list[str] | None = None
    model_id: str | None = None
    logged_model: LoggedModel | None = None
    registered_model_version: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """The logged model's name."""
        return self.logged_model.name if self.logged_model is not None else None

    @property
    def model_uri_runs(self) -> str | None:
        """``runs:/<run_id>/<name>`` for the logged model, when it came from a run."""
        if self.run_id and self.name:
            return f"runs:/{self.run_id}/{self.name}"
        return None


def get_model_info(model_uri: str) -> ModelInfo:
    """The :class:`ModelInfo` of the model at ``model_uri`` (its ``MLmodel`` only is fetched).

    Args:
        model_uri: a local path or any model URI.

    Returns:
        The model's :class:`ModelInfo`.
    """
    return Model.load(model_uri).get_model_info()
