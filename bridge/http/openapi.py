"""An OpenAPI 3.1 document built from the route table, so it can never drift from the routes."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from bridge.http.routes import RouteSpec, RouteTable

OPENAPI_VERSION = "3.1.0"
SCHEMA_REF = "#/components/schemas/{model}"
# aiohttp paths may carry a regex ({id:[0-9]+}); OpenAPI wants the bare {id}.
PATH_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}


def openapi_document(routes: RouteTable, *, title: str, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes.specs:
        path = PATH_PARAMETER.sub(r"{\1}", spec.path)
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=SCHEMA_REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": SCHEMA_REF.format(model=model.__name__)}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response_model is not None:
        ok["content"] = _json_content(_schema_ref(spec.response_model, schemas))
    responses: dict[str, Any] = {"200": ok}
    error = _json_content({"$ref": SCHEMA_REF.format(model="Error")})
    for status, description in spec.responses.items():
        responses[str(status)] = {"description": description}
    operation: dict[str, Any] = {
        "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
        "summary": spec.summary,
        "tags": list(spec.tags),
        "responses": responses,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PATH_PARAMETER.findall(spec.path)
    ]
    if parameters:
        operation["parameters"] = parameters
    if spec.request_model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": _json_content(_schema_ref(spec.request_model, schemas)),
        }
    if spec.roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = sorted(role.value for role in spec.roles)
        responses["401"] = {"description": "missing or unknown token", "content": error}
        responses["403"] = {"description": "the token's role may not call this", "content": error}
    return operation
