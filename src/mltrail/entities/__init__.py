"""Plain frozen dataclasses for everything mltrail stores, with MLflow's fields and wire shapes."""

from mltrail.entities.dataset import DATASET_CONTEXT_TAG, Dataset, DatasetInput, DatasetSummary
from mltrail.entities.enums import LifecycleStage, LoggedModelStatus, RunStatus, ViewType
from mltrail.entities.experiment import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment
from mltrail.entities.file_info import FileInfo
from mltrail.entities.logged_model import LoggedModel, ModelRegistration
from mltrail.entities.metric import Metric
from mltrail.entities.paged_list import PagedList
from mltrail.entities.registry import (
    ALL_STAGES,
    STAGE_ARCHIVED,
    STAGE_NONE,
    STAGE_PRODUCTION,
    STAGE_STAGING,
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from mltrail.entities.run import (
    LoggedModelInput,
    LoggedModelOutput,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
)
from mltrail.entities.tags import (
    ExperimentTag,
    InputTag,
    LoggedModelParameter,
    LoggedModelTag,
    Param,
    RunTag,
)

__all__ = [
    "ALL_STAGES",
    "DATASET_CONTEXT_TAG",
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "STAGE_ARCHIVED",
    "STAGE_NONE",
    "STAGE_PRODUCTION",
    "STAGE_STAGING",
    "Dataset",
    "DatasetInput",
    "DatasetSummary",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "ModelRegistration",
    "ModelVersion",
    "ModelVersionStatus",
    "ModelVersionTag",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
]
