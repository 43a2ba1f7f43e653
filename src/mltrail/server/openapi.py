"""An OpenAPI 3.1 document generated from the endpoint table.

Each endpoint is described from its :class:`~mltrail.server.protocol.Field` specs: GET and DELETE take them as
query parameters, other methods as a JSON object body. Integers are int64 with their bounds, as the parser
enforces. Every operation lists the statuses the server answers with, each with MLflow's error body
``{"error_code", "message"}``; :mod:`tests.server.test_fuzz_openapi` checks the server against this document.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mltrail.server.protocol import Field
from mltrail.server.routes import all_endpoints
from mltrail.store.tracking.validation import INT64_MAX, INT64_MIN

_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "enum": {"type": ["string", "integer"]},
    "strings": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object"},
    "any": {},
}

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
#: Error statuses any operation may answer, and why.
_ERRORS: dict[str, str] = {
    "400": "Invalid request (INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, BAD_REQUEST)",
    "403": "Host header not allowed (PERMISSION_DENIED)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST)",
    "409": "The request conflicts with the resource's state (INVALID_STATE)",
    "414": "The URL is too long",
    "500": "Internal error (INTERNAL_ERROR)",
    "501": "Not supported by this server (NOT_IMPLEMENTED)",
    "503": "The database is busy or unreachable; retry (TEMPORARILY_UNAVAILABLE)",
    "504": "The database did not answer in time (DEADLINE_EXCEEDED)",
}
_BODY_ERRORS: dict[str, str] = {"413": "The request body is too large (RESOURCE_EXHAUSTED)"}
#: The statuses a server with ``--auth`` adds.
_AUTH_ERRORS: dict[str, str] = {
    "401": "Not signed in, or bad credentials (UNAUTHENTICATED)",
    "403": "Host header not allowed, or not permitted (PERMISSION_DENIED)",
    "429": "Too many failed sign-ins (REQUEST_LIMIT_EXCEEDED)",
}


def _schema(field: Field) -> dict[str, Any]:
    if field.kind == "objects":
        item: dict[str, Any] = {"type": "object"}
        if field.item_fields:
            item["properties"] = {f.name: _schema(f) for f in field.item_fields}
            required = [f.name for f in field.item_fields if f.required]
            if required:
                item["required"] = required
        return {"type": "array", "items": item}
    schema = dict(_SCHEMAS[field.kind])
    if field.required and field.kind == "string":
        schema["minLength"] = 1  # an empty string counts as missing, as in MLflow
    elif field.required and field.kind == "strings":
        schema["minItems"] = 1
    return schema


def _responses(with_body: bool, with_auth: bool) -> dict[str, Any]:
    errors = {**_ERRORS, **_BODY_ERRORS} if with_body else dict(_ERRORS)
    if with_auth:
        errors.update(_AUTH_ERRORS)
    responses: dict[str, Any] = {
        "200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
    for status, description in sorted(errors.items()):
        responses[status] = {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}
    return responses


@lru_cache(maxsize=2)
def openapi_document(include_auth: bool = False) -> dict[str, Any]:
    """The OpenAPI document of every JSON endpoint (each under its first prefix, e.g. ``/api/2.0/mlflow``).

    With ``include_auth`` (a server with ``--auth``): the auth API too, the 401/403/429 answers, and HTTP Basic and
    bearer tokens as the security schemes.
    """
    from mltrail import __version__

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in all_endpoints(include_auth=include_auth):
        path = endpoint.prefixes[0] + endpoint.path.replace(":path}", "}")
        body_fields = [f for f in endpoint.fields if f.name not in endpoint.path_params]
        for method in endpoint.methods:
            with_body = method not in ("GET", "DELETE")
            operation: dict[str, Any] = {
                "summary": endpoint.summary,
                "operationId": f"{endpoint.handler.__name__}_{method.lower()}",
                "responses": _responses(with_body, include_auth),
            }
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                for name in endpoint.path_params
            ]
            if not with_body:
                parameters += [
                    {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f)} for f in body_fields
                ]
            else:
                required = [f.name for f in body_fields if f.required]
                schema: dict[str, Any] = {"type": "object", "properties": {f.name: _schema(f) for f in body_fields}}
                if required:
                    schema["required"] = required
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
            if parameters:
                operation["parameters"] = parameters
            paths.setdefault(path, {})[method.lower()] = operation
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "mltrail tracking server", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["error_code", "message"],
                }
            }
        },
    }
    if include_auth:
        document["components"]["securitySchemes"] = {
            "basic": {"type": "http", "scheme": "basic"},
            "token": {"type": "http", "scheme": "bearer", "description": "A personal access token (mlt_...)"},
        }
        document["security"] = [{"basic": []}, {"token": []}]
    return document
