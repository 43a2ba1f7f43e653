"""The rule every route is checked with when auth is on: who may call it, and on which resource.

Rules are keyed by ``(path, method)`` with the ``/ajax-api/`` prefix read as ``/api/``, for the JSON endpoints
of :func:`mltrail.server.routes.all_endpoints` and for the other routes (artifact proxy, file downloads, meta).
:func:`rule_for` returns None for a route without a rule; the app refuses to start with auth on when any route
lacks one, and ``tests/server/test_auth_rules.py`` lists them, so nothing is left open by accident.

A check receives the request's parameters (the parsed JSON body or query for endpoints; path and query
parameters for the other routes) and raises PERMISSION_DENIED; ``narrow`` rewrites a search's parameters to
what the caller may read, ``keep`` filters a search's results, ``after`` runs once the handler succeeded (the
creator of an experiment or a model gets MANAGE on it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mltrail.entities.auth import (
    EDIT,
    MANAGE,
    PERMISSION_LEVELS,
    READ,
    RESOURCE_EXPERIMENT,
    RESOURCE_REGISTERED_MODEL,
)
from mltrail.errors import PERMISSION_DENIED, MltrailError
from mltrail.server.auth.identity import Caller
from mltrail.server.auth.service import AuthService
from mltrail.store.uris import get_uri_scheme

Params = dict[str, Any]
Check = Callable[[AuthService, Caller, Params], None]
Narrow = Callable[[AuthService, Caller, Params], Params]
Keep = Callable[[AuthService, Caller], Callable[[dict[str, Any]], bool]]
After = Callable[[AuthService, Caller, Params, Any], None]


@dataclass(frozen=True)
class Rule:
    """How one route is authorized. ``check`` None means public: no credentials needed."""

    check: Check | None
    narrow: Narrow | None = None
    keep: tuple[str, Keep] | None = None  # (the result's list field, a predicate factory)
    after: After | None = None

    @property
    def public(self) -> bool:
        """Whether the route is open without credentials."""
        return self.check is None


def denied(message: str) -> MltrailError:
    """403 PERMISSION_DENIED."""
    return MltrailError(message, PERMISSION_DENIED)


def _require(held: str, needed: str, what: str) -> None:
    if PERMISSION_LEVELS[held] < PERMISSION_LEVELS[needed]:
        raise denied(f"Permission denied: this needs {needed} on {what} (you have {held}).")


def _text(params: Params, *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# --- checks ------------------------------------------------------------------------------------------------
def _signed_in(service: AuthService, caller: Caller, params: Params) -> None:
    """Any signed-in user (authentication already happened)."""


def _admin(service: AuthService, caller: Caller, params: Params) -> None:
    if not caller.is_admin:
        raise denied("Permission denied: only an admin may do this.")


def experiment(level: str, *names: str) -> Check:
    """``level`` on the experiment whose id is in the first of ``names`` present (a missing id: the handler's 400)."""
    names = names or ("experiment_id",)

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        exp_id = _text(params, *names)
        if exp_id is not None:
            _require(service.permissions.experiment(caller, exp_id), level, f"experiment {exp_id}")

    return check


def run(level: str, *names: str) -> Check:
    """``level`` on the experiment of the run named by ``run_id`` (or ``run_uuid``)."""
    names = names or ("run_id", "run_uuid")

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        run_id = _text(params, *names)
        if run_id is not None and not caller.is_admin:
            exp_id = service.experiment_of_run(run_id)
            _require(service.permissions.experiment(caller, exp_id), level, f"the experiment of run {run_id}")

    return check


def runs(level: str, name: str = "run_ids") -> Check:
    """``level`` on the experiment of each run in a list (``run_ids``; a single ``run_id`` too)."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        if caller.is_admin:
            return
        raw = params.get(name)
        ids = [raw] if isinstance(raw, str) else list(raw or [])
        if isinstance(params.get("run_id"), str):
            ids.append(params["run_id"])
        allowed = service.permissions.experiment_filter(caller, level)
        for run_id in ids:
            if isinstance(run_id, str) and not allowed(service.experiment_of_run(run_id)):
                raise denied(f"Permission denied: this needs {level} on the experiment of run {run_id}.")

    return check


def logged_model(level: str) -> Check:
    """``level`` on the experiment of the logged model ``model_id``."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        model_id = _text(params, "model_id")
        if model_id is not None and not caller.is_admin:
            exp_id = service.experiment_of_logged_model(model_id)
            _require(service.permissions.experiment(caller, exp_id), level, f"the experiment of model {model_id}")

    return check


def registered_model(level: str, name_param: str = "name") -> Check:
    """``level`` on the registered model (and so its versions) named by ``name``."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        name = _text(params, name_param)
        if name is not None:
            _require(service.permissions.registered_model(caller, name), level, f"registered model {name!r}")

    return check


def experiment_by_name(level: str) -> Check:
    """``level`` on the experiment named ``experiment_name`` (an unknown name: the handler's 404)."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        name = _text(params, "experiment_name")
        if name is None or caller.is_admin:
            return
        found = service.tracking_store.get_experiment_by_name(name)
        if found is not None:
            _require(service.permissions.experiment(caller, found.experiment_id), level, f"experiment {name!r}")

    return check


_EXPERIMENT_SEGMENT = re.compile(r"^\d{1,19}$")


def artifact_path(level: str, *names: str) -> Check:
    """``level`` on the experiment that owns a proxied artifact path (``<experiment_id>/<run_id>/artifacts/...``).

    Paths that do not start with an experiment id (the root, other folders) are for admins only.
    """
    names = names or ("artifact_path", "path")

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        if caller.is_admin:
            return
        path = (_text(params, *names) or "").strip("/")
        first = path.split("/", 1)[0]
        if not _EXPERIMENT_SEGMENT.match(first):
            raise denied("Permission denied: only an admin may reach artifacts outside an experiment's folder.")
        _require(service.permissions.experiment(caller, first), level, f"experiment {first}")

    return check


def resource(level: str) -> Check:
    """``level`` on the resource named by ``resource_type`` (experiment, registered_model) and ``resource_id``.

    An unknown resource type is the handler's 400.
    """

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        kind, ident = params.get("resource_type"), _text(params, "resource_id")
        if ident is None:
            return
        if kind == RESOURCE_EXPERIMENT:
            experiment(level, "resource_id")(service, caller, params)
        elif kind == RESOURCE_REGISTERED_MODEL:
            registered_model(level, "resource_id")(service, caller, params)

    return check


def self_or(other: Check) -> Check:
    """The user named by ``username`` themself, else ``other``."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        if params.get("username") != caller.username:
            other(service, caller, params)

    return check


def all_of(*checks: Check) -> Check:
    """Every one of ``checks``."""

    def check(service: AuthService, caller: Caller, params: Params) -> None:
        for each in checks:
            each(service, caller, params)

    return check


def _own_artifact_location(service: AuthService, caller: Caller, params: Params) -> None:
    """Choosing an experiment's artifact location is an admin's call: it could point into another's folder."""
    if params.get("artifact_location") and not caller.is_admin:
        raise denied("Permission denied: only an admin may set an experiment's artifact location.")


#: MLflow's placeholder sources of prompt versions (no files behind them).
_PROMPT_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})
_PROXY_SOURCE = re.compile(r"^mlflow-artifacts:/+(\d{1,19})(?:/|$)")


def _model_source(service: AuthService, caller: Caller, params: Params) -> None:
    """A model version's source must be readable by its registrant: its run, or the experiment folder it names.

    The server later serves the source's files (``model-versions/get-artifact``), so a source inside the artifact
    store (a local folder or an ``s3://`` destination) is checked like a proxy path; local paths elsewhere are for
    admins. Any other location (an object store the server also reads with its own credentials) must lie under
    the artifact root of the run named by ``run_id``, which the registrant must be able to read, as MLflow's
    client sends it; otherwise only an admin may register it.
    """
    if caller.is_admin:
        return
    source = _text(params, "source") or ""
    scheme = get_uri_scheme(source)
    match = _PROXY_SOURCE.match(source)
    if source in _PROMPT_PLACEHOLDERS:
        pass
    elif scheme == "models":
        name = source[len("models:") :].lstrip("/").split("/", 1)[0].split("@", 1)[0]
        registered_model(READ)(service, caller, {"name": name})
    elif match:
        _require(service.permissions.experiment(caller, match.group(1)), READ, f"experiment {match.group(1)}")
    elif source.startswith("runs:/"):
        run(READ)(service, caller, {"run_id": source[len("runs:/") :].split("/", 1)[0]})
    elif source and scheme in ("", "file"):
        relative = service.relative_to_artifact_root(source)
        if relative is None:
            raise denied("Permission denied: only an admin may register a model from a local path.")
        artifact_path(READ)(service, caller, {"path": relative})
    elif source and (inside := service.relative_to_object_store_root(source)) is not None:
        # Inside an s3:// artifacts destination: the experiment folder it names, as for a proxy path.
        if not inside:
            raise denied("Permission denied: only an admin may register a model from the whole artifact store.")
        artifact_path(READ)(service, caller, {"path": inside})
    elif source:
        run_id = _text(params, "run_id")
        root = service.tracking_store.get_run(run_id).info.artifact_uri.rstrip("/") if run_id else None
        if root is None or not (source == root or source.startswith(root + "/")) or "/../" in source + "/":
            raise denied(
                "Permission denied: a model version's source must be inside the artifacts of its run (give run_id); "
                "only an admin may register one from elsewhere."
            )
    if params.get("run_id"):
        run(READ)(service, caller, params)


# --- narrowing and filtering searches ----------------------------------------------------------------------
def _readable_experiment_ids(service: AuthService, caller: Caller, params: Params) -> Params:
    """Drop the experiments the caller may not read from ``experiment_ids``."""
    if caller.is_admin:
        return params
    allowed = service.permissions.experiment_filter(caller, READ)
    ids = params.get("experiment_ids")
    if ids is None:
        return params
    ids = [ids] if isinstance(ids, str) else ids
    return {**params, "experiment_ids": [i for i in ids if isinstance(i, str) and allowed(i)]}


def _keep_experiments(service: AuthService, caller: Caller) -> Callable[[dict[str, Any]], bool]:
    allowed = service.permissions.experiment_filter(caller, READ)
    return lambda item: allowed(str(item.get("experiment_id", "")))


def _keep_models(service: AuthService, caller: Caller) -> Callable[[dict[str, Any]], bool]:
    allowed = service.permissions.model_filter(caller, READ)
    return lambda item: allowed(str(item.get("name", "")))


# --- after success -----------------------------------------------------------------------------------------
def _creator_manages_experiment(service: AuthService, caller: Caller, params: Params, result: Any) -> None:
    exp_id = (result or {}).get("experiment_id")
    if exp_id and not caller.is_admin:
        service.store.set_experiment_permission(str(exp_id), MANAGE, username=caller.username)
        service.permissions.forget()


def _creator_manages_model(service: AuthService, caller: Caller, params: Params, result: Any) -> None:
    name = ((result or {}).get("registered_model") or {}).get("name")
    if name:
        service.store.delete_registered_model_permissions(name)  # grants left from a deleted model of that name
        if not caller.is_admin:
            service.store.set_registered_model_permission(name, MANAGE, username=caller.username)
        service.permissions.forget()


def _model_renamed(service: AuthService, caller: Caller, params: Params, result: Any) -> None:
    service.store.rename_registered_model_permissions(params["name"], params["new_name"])
    service.permissions.forget()


def _model_deleted(service: AuthService, caller: Caller, params: Params, result: Any) -> None:
    service.store.delete_registered_model_permissions(params["name"])
    service.permissions.forget()


def _runs_moved(service: AuthService, caller: Caller, params: Params, result: Any) -> None:
    service.runs_moved(list(params.get("run_ids") or []))


PUBLIC = Rule(None)
SIGNED_IN = Rule(_signed_in)
ADMIN = Rule(_admin)

_M = "/api/2.0/mlflow"
_X = "/api/2.0/mltrail"
_A = "/api/2.0/mlflow-artifacts"
_M3 = "/api/3.0/mlflow"

RULES: dict[tuple[str, str], Rule] = {
    # experiments
    (f"{_M}/experiments/create", "POST"): Rule(_own_artifact_location, after=_creator_manages_experiment),
    (f"{_M}/experiments/get", "GET"): Rule(experiment(READ)),
    (f"{_M}/experiments/get-by-name", "GET"): Rule(experiment_by_name(READ)),
    (f"{_M}/experiments/search", "POST"): Rule(_signed_in, keep=("experiments", _keep_experiments)),
    (f"{_M}/experiments/search", "GET"): Rule(_signed_in, keep=("experiments", _keep_experiments)),
    (f"{_M}/experiments/delete", "POST"): Rule(experiment(MANAGE)),
    (f"{_M}/experiments/restore", "POST"): Rule(experiment(MANAGE)),
    (f"{_M}/experiments/update", "POST"): Rule(experiment(EDIT)),
    (f"{_M}/experiments/set-experiment-tag", "POST"): Rule(experiment(EDIT)),
    (f"{_M}/experiments/delete-experiment-tag", "POST"): Rule(experiment(EDIT)),
    (f"{_M}/experiments/search-datasets", "POST"): Rule(_signed_in, narrow=_readable_experiment_ids),
    # runs
    (f"{_M}/runs/create", "POST"): Rule(experiment(EDIT)),
    (f"{_M}/runs/get", "GET"): Rule(run(READ)),
    (f"{_M}/runs/update", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/delete", "POST"): Rule(run(MANAGE)),
    (f"{_M}/runs/restore", "POST"): Rule(run(MANAGE)),
    (f"{_M}/runs/search", "POST"): Rule(_signed_in, narrow=_readable_experiment_ids),
    (f"{_M}/runs/search", "GET"): Rule(_signed_in, narrow=_readable_experiment_ids),
    (f"{_M}/runs/log-metric", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/log-parameter", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/set-tag", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/delete-tag", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/log-batch", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/log-inputs", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/outputs", "POST"): Rule(run(EDIT)),
    (f"{_M}/runs/log-model", "POST"): Rule(run(EDIT)),
    (f"{_M}/metrics/get-history", "GET"): Rule(run(READ)),
    (f"{_M}/metrics/get-history-bulk-interval", "GET"): Rule(runs(READ)),
    (f"{_M}/metrics/get-history-bulk", "GET"): Rule(runs(READ, "run_id")),
    (f"{_M}/artifacts/list", "GET"): Rule(run(READ)),
    # logged models
    (f"{_M}/logged-models", "POST"): Rule(all_of(experiment(EDIT), run(READ, "source_run_id"))),
    (f"{_M}/logged-models/search", "POST"): Rule(_signed_in, narrow=_readable_experiment_ids),
    (f"{_M}/logged-models/{{model_id}}", "GET"): Rule(logged_model(READ)),
    (f"{_M}/logged-models/{{model_id}}", "PATCH"): Rule(logged_model(EDIT)),
    (f"{_M}/logged-models/{{model_id}}", "DELETE"): Rule(logged_model(MANAGE)),
    (f"{_M}/logged-models/{{model_id}}/tags", "PATCH"): Rule(logged_model(EDIT)),
    (f"{_M}/logged-models/{{model_id}}/tags/{{tag_key:path}}", "DELETE"): Rule(logged_model(EDIT)),
    (f"{_M}/logged-models/{{model_id}}/params", "POST"): Rule(logged_model(EDIT)),
    (f"{_M}/logged-models/{{model_id}}/artifacts/directories", "GET"): Rule(logged_model(READ)),
    (f"{_M}/logged-models/{{model_id}}/artifacts/files", "GET"): Rule(logged_model(READ)),
    # mltrail's extensions
    (f"{_X}/runs/move", "POST"): Rule(all_of(runs(EDIT), experiment(EDIT)), after=_runs_moved),
    (f"{_X}/runs/list-deleted", "GET"): Rule(
        _signed_in, narrow=_readable_experiment_ids, keep=("runs", _keep_experiments)
    ),
    (f"{_X}/experiments/list-deleted", "GET"): Rule(_signed_in, keep=("experiments", _keep_experiments)),
    (f"{_X}/runs/purge", "POST"): Rule(run(MANAGE)),
    (f"{_X}/experiments/purge", "POST"): Rule(experiment(MANAGE)),
    (f"{_X}/metrics/get-history-downsampled", "GET"): Rule(runs(READ)),
    (f"{_X}/webhooks/create", "POST"): ADMIN,
    (f"{_X}/webhooks/list", "GET"): ADMIN,
    (f"{_X}/webhooks/get", "GET"): ADMIN,
    (f"{_X}/webhooks/update", "PATCH"): ADMIN,
    (f"{_X}/webhooks/delete", "DELETE"): ADMIN,
    (f"{_X}/webhooks/deliveries", "GET"): ADMIN,
    # model registry
    (f"{_M}/registered-models/create", "POST"): Rule(_signed_in, after=_creator_manages_model),
    (f"{_M}/registered-models/get", "GET"): Rule(registered_model(READ)),
    (f"{_M}/registered-models/rename", "POST"): Rule(registered_model(MANAGE), after=_model_renamed),
    (f"{_M}/registered-models/update", "PATCH"): Rule(registered_model(EDIT)),
    (f"{_M}/registered-models/delete", "DELETE"): Rule(registered_model(MANAGE), after=_model_deleted),
    (f"{_M}/registered-models/search", "GET"): Rule(_signed_in, keep=("registered_models", _keep_models)),
    (f"{_M}/registered-models/get-latest-versions", "POST"): Rule(registered_model(READ)),
    (f"{_M}/registered-models/get-latest-versions", "GET"): Rule(registered_model(READ)),
    (f"{_M}/registered-models/set-tag", "POST"): Rule(registered_model(EDIT)),
    (f"{_M}/registered-models/delete-tag", "DELETE"): Rule(registered_model(EDIT)),
    (f"{_M}/registered-models/alias", "POST"): Rule(registered_model(EDIT)),
    (f"{_M}/registered-models/alias", "DELETE"): Rule(registered_model(EDIT)),
    (f"{_M}/registered-models/alias", "GET"): Rule(registered_model(READ)),
    (f"{_M}/model-versions/create", "POST"): Rule(all_of(registered_model(EDIT), _model_source)),
    (f"{_M}/model-versions/get", "GET"): Rule(registered_model(READ)),
    (f"{_M}/model-versions/update", "PATCH"): Rule(registered_model(EDIT)),
    (f"{_M}/model-versions/transition-stage", "POST"): Rule(registered_model(EDIT)),
    (f"{_M}/model-versions/delete", "DELETE"): Rule(registered_model(MANAGE)),
    (f"{_M}/model-versions/search", "GET"): Rule(_signed_in, keep=("model_versions", _keep_models)),
    (f"{_M}/model-versions/get-download-uri", "GET"): Rule(registered_model(READ)),
    (f"{_M}/model-versions/set-tag", "POST"): Rule(registered_model(EDIT)),
    (f"{_M}/model-versions/delete-tag", "DELETE"): Rule(registered_model(EDIT)),
    (f"{_M}/model-versions/get-artifact", "GET"): Rule(registered_model(READ)),
    ("/model-versions/get-artifact", "GET"): Rule(registered_model(READ)),
    # files
    (f"{_M}/get-artifact", "GET"): Rule(run(READ)),
    ("/get-artifact", "GET"): Rule(run(READ)),
    (f"{_M}/upload-artifact", "POST"): Rule(run(EDIT, "run_uuid")),  # the UI's upload (/ajax-api/ only)
    (f"{_A}/artifacts/{{artifact_path:path}}", "GET"): Rule(artifact_path(READ)),
    (f"{_A}/artifacts/{{artifact_path:path}}", "PUT"): Rule(artifact_path(EDIT)),
    (f"{_A}/artifacts/{{artifact_path:path}}", "DELETE"): Rule(artifact_path(MANAGE)),
    (f"{_A}/artifacts", "GET"): Rule(artifact_path(READ)),
    (f"{_A}/mpu/create", "POST"): ADMIN,
    (f"{_A}/mpu/create/{{artifact_path:path}}", "POST"): Rule(artifact_path(EDIT)),
    (f"{_A}/mpu/complete", "POST"): ADMIN,
    (f"{_A}/mpu/complete/{{artifact_path:path}}", "POST"): Rule(artifact_path(EDIT)),
    (f"{_A}/mpu/abort", "POST"): ADMIN,
    (f"{_A}/mpu/abort/{{artifact_path:path}}", "POST"): Rule(artifact_path(EDIT)),
    (f"{_A}/mpu/part/{{upload_id}}/{{part_number}}", "PUT"): SIGNED_IN,  # the upload id is a 128-bit secret
    # the auth API (handlers check "admin or the user themself" where MLflow does)
    (f"{_M}/users/create", "POST"): ADMIN,
    (f"{_M}/users/get", "GET"): SIGNED_IN,
    (f"{_M}/users/list", "GET"): ADMIN,
    (f"{_M}/users/current", "GET"): SIGNED_IN,
    (f"{_M}/users/update-password", "PATCH"): SIGNED_IN,
    (f"{_M}/users/update-admin", "PATCH"): ADMIN,
    (f"{_M}/users/delete", "DELETE"): ADMIN,
    (f"{_M}/experiments/permissions/create", "POST"): Rule(experiment(MANAGE)),
    (f"{_M}/experiments/permissions/get", "GET"): Rule(experiment(MANAGE)),
    (f"{_M}/experiments/permissions/update", "PATCH"): Rule(experiment(MANAGE)),
    (f"{_M}/experiments/permissions/delete", "DELETE"): Rule(experiment(MANAGE)),
    (f"{_M}/registered-models/permissions/create", "POST"): Rule(registered_model(MANAGE)),
    (f"{_M}/registered-models/permissions/get", "GET"): Rule(registered_model(MANAGE)),
    (f"{_M}/registered-models/permissions/update", "PATCH"): Rule(registered_model(MANAGE)),
    (f"{_M}/registered-models/permissions/delete", "DELETE"): Rule(registered_model(MANAGE)),
    (f"{_M3}/users/permissions/grant", "POST"): Rule(resource(MANAGE)),
    (f"{_M3}/users/permissions/revoke", "POST"): Rule(resource(MANAGE)),
    (f"{_M3}/users/permissions/get", "GET"): Rule(self_or(resource(MANAGE))),
    (f"{_M3}/users/permissions/list", "GET"): SIGNED_IN,
    (f"{_M3}/users/current/permissions", "GET"): SIGNED_IN,
    (f"{_X}/groups/create", "POST"): ADMIN,
    (f"{_X}/groups/list", "GET"): ADMIN,
    (f"{_X}/groups/get", "GET"): ADMIN,
    (f"{_X}/groups/delete", "DELETE"): ADMIN,
    (f"{_X}/groups/members/add", "POST"): ADMIN,
    (f"{_X}/groups/members/remove", "POST"): ADMIN,
    (f"{_X}/permissions/list", "GET"): Rule(resource(MANAGE)),
    (f"{_X}/permissions/set", "POST"): Rule(resource(MANAGE)),
    (f"{_X}/permissions/delete", "POST"): Rule(resource(MANAGE)),
    (f"{_X}/tokens/create", "POST"): SIGNED_IN,
    (f"{_X}/tokens/list", "GET"): SIGNED_IN,
    (f"{_X}/tokens/revoke", "POST"): SIGNED_IN,
    (f"{_X}/audit/search", "GET"): ADMIN,
    # the web UI's sign-in (single sign-on's two routes exist only when it is configured)
    ("/auth/config", "GET"): PUBLIC,
    ("/auth/login", "POST"): PUBLIC,
    ("/auth/logout", "POST"): PUBLIC,
    ("/auth/oidc/login", "GET"): PUBLIC,
    ("/auth/oidc/callback", "GET"): PUBLIC,
    # meta
    ("/health", "GET"): PUBLIC,
    ("/version", "GET"): PUBLIC,
    ("/openapi.json", "GET"): PUBLIC,
    ("/api/3.0/mlflow/server-info", "GET"): SIGNED_IN,
    # GraphQL: any signed-in user; each field then applies the rule of the REST endpoint it mirrors
    ("/graphql", "POST"): SIGNED_IN,
    ("/graphql", "GET"): PUBLIC,  # answers 405 (send POST): no data
}


def canonical_path(path: str) -> str:
    """The rule key of a route path: the ``/ajax-api/`` mount read as ``/api/``."""
    return "/api/" + path[len("/ajax-api/") :] if path.startswith("/ajax-api/") else path


def rule_for(path: str, method: str) -> Rule | None:
    """The rule of a route (its path pattern as declared), or None when it has none."""
    if method == "HEAD":
        method = "GET"
    return RULES.get((canonical_path(path), method))
