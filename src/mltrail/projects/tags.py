"""The run tags MLflow sets for project runs (``mlflow/utils/mlflow_tags.py``, ``projects/utils.py::_create_run``)."""

from __future__ import annotations

from mltrail.projects.fetch import FetchedProject
from mltrail.tracking.context import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_REPO_URL,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
    get_user,
)

MLFLOW_PROJECT_ENTRY_POINT = "mlflow.project.entryPoint"
MLFLOW_PROJECT_ENV = "mlflow.project.env"
MLFLOW_PROJECT_BACKEND = "mlflow.project.backend"
MLFLOW_DOCKER_IMAGE_URI = "mlflow.docker.image.uri"
MLFLOW_DOCKER_IMAGE_ID = "mlflow.docker.image.id"
SOURCE_PROJECT = "PROJECT"


def project_tags(
    fetched: FetchedProject,
    entry_point: str,
    version: str | None,
    parent_run_id: str | None,
    run_name: str | None,
    env_kind: str,
) -> dict[str, str]:
    """The tags of a new project run.

    Args:
        fetched: where the project came from (source name, git commit, repository URL, branch).
        entry_point: the entry point's name.
        version: the ``-v`` version asked for (recorded as the branch when it is one).
        parent_run_id: the caller's active run, if any.
        run_name: the run's name, if given.
        env_kind: ``local``, ``virtualenv``, ``uv``, ``conda`` or ``docker``.
    """
    tags = {
        MLFLOW_USER: get_user(),
        MLFLOW_SOURCE_NAME: fetched.source_name,
        MLFLOW_SOURCE_TYPE: SOURCE_PROJECT,
        MLFLOW_PROJECT_ENTRY_POINT: entry_point,
        MLFLOW_PROJECT_ENV: env_kind,
        MLFLOW_PROJECT_BACKEND: "local",
    }
    if fetched.git_commit:
        tags[MLFLOW_GIT_COMMIT] = fetched.git_commit
    if fetched.git_repo_url:
        tags[MLFLOW_GIT_REPO_URL] = fetched.git_repo_url
    if fetched.git_branch and fetched.git_branch == version:
        tags[MLFLOW_GIT_BRANCH] = fetched.git_branch
    if parent_run_id:
        tags[MLFLOW_PARENT_RUN_ID] = parent_run_id
    if run_name:
        tags[MLFLOW_RUN_NAME] = run_name
    return tags
