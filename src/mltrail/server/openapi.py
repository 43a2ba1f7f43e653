"""An OpenAPI 3.1 document generated from the endpoint table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mltrail.server.protocol import Field

_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "enum": {"type": "string"},
    "strings": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object"},
    "any": {},
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
    return dict(_SCHEMAS[field.kind])


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of every JSON endpoint (paths under ``/api/2.0/mlflow``)."""
    from mltrail import __version__
    from mltrail.server.app import all_endpoints

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in all_endpoints():
        path = endpoint.prefixes[0] + endpoint.path.replace(":path}", "}")
        body_fields = [f for f in endpoint.fields if f.name not in endpoint.path_params]
        for method in endpoint.methods:
            operation: dict[str, Any] = {
                "summary": endpoint.summary,
                "operationId": f"{endpoint.handler.__name__}_{method.lower()}",
                "responses": {
                    "200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "default": {
                        "description": "MLflow error",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in endpoint.path_params
            ]
            if method in ("GET", "DELETE"):
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
    return {
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
