"""The OpenAPI 3.1 document of the douyin routes, generated from the route table at start-up so it
states exactly what the code accepts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compat.envelope import STATUS_MEANINGS
from compat.objects import OBJECTS, DouyinObject, Embedded, Field
from compat.openapi_types import INT32, INT64, STRING, Schema, described, object_schema, ref
from compat.params import Kind, Param
from compat.routes import RouteSpec
from settings import Settings

OPENAPI_VERSION = "3.1.0"


def _properties(obj: DouyinObject) -> dict[str, Schema]:
    """A douyin object's properties, in its key order."""
    properties: dict[str, Schema] = {}
    for member in obj.members:
        if isinstance(member, Field):
            properties[member.key] = described(member.schema, member.description)
        elif isinstance(member, Embedded):
            properties[member.key] = ref(member.object.name)
        else:
            properties.update(_properties(member.object))
    return properties


def _components() -> dict[str, Schema]:
    codes = "; ".join(f"{code} = {meaning}" for code, meaning in STATUS_MEANINGS.items())
    envelope = object_schema(
        {
            "status_code": {**INT32, "enum": list(STATUS_MEANINGS)},
            "status_msg": described(STRING, '"success", or what went wrong.'),
        },
        f"Every response, always with HTTP 200. status_code: {codes}.",
    )
    return {"Envelope": envelope, **{obj.name: object_schema(_properties(obj)) for obj in OBJECTS}}


def param_schema(param: Param, settings: Settings) -> dict[str, Any]:
    if param.kind is Kind.ID:
        return {**INT64, "minimum": 1}
    if param.kind is Kind.ACTION:
        return {**INT32, "enum": list(param.choices)}
    if param.kind is Kind.TEXT:
        schema: dict[str, Any] = {**STRING, "minLength": 1}
        limit = param.max_length(settings)
        if limit is not None:
            schema["maxLength"] = limit
        return schema
    if param.kind in (Kind.LATEST_TIME, Kind.MESSAGE_TIME):
        return {**INT64, "minimum": 0}
    if param.kind is Kind.FILE:
        return {"type": "string", "contentMediaType": "application/octet-stream"}
    return dict(STRING)


def _query_parameter(param: Param, settings: Settings, spec: RouteSpec) -> dict[str, Any]:
    where = "the form body first, then the query string" if spec.form_first else "the query string first"
    return {
        "name": param.name,
        "in": "query",
        # Form fields may supply it instead on POST, so the query copy is required only on GET-only routes.
        "required": param.required and "POST" not in spec.methods,
        "description": f"{param.description} Looked up in {where}.".strip(),
        "schema": param_schema(param, settings),
    }


def _form_body(params: Iterable[Param], settings: Settings, spec: RouteSpec) -> dict[str, Any]:
    fields = list(params)
    schema = {
        "type": "object",
        "properties": {
            param.name: described(param_schema(param, settings), param.description) for param in fields
        },
    }
    if spec.upload:
        schema["required"] = ["data"]
        return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    form = {"schema": schema}
    return {
        "required": False,
        "description": "The same parameters as form fields; the query string wins.",
        "content": {"application/x-www-form-urlencoded": form, "multipart/form-data": form},
    }


def _response(spec: RouteSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "allOf": [ref("Envelope")],
    }
    if spec.response:
        schema["allOf"].append(
            {
                "type": "object",
                "properties": dict(spec.response),
                "description": "Present on success (status_code 0).",
            }
        )
    if spec.failure_defaults:
        keys = ", ".join(spec.failure_defaults)
        schema["description"] = f"On failure {keys} are still present (empty)."
    return {
        "200": {
            "description": "Always HTTP 200; status_code tells success (0) from failure.",
            "content": {"application/json": {"schema": schema}},
        }
    }


def _operation(spec: RouteSpec, method: str, settings: Settings) -> dict[str, Any]:
    query_params = [param for param in spec.params if param.kind is not Kind.FILE]
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{method.lower()}_{spec.operation}",
        "description": (
            f"Served at {spec.path} and {spec.path.rstrip('/')}. "
            f"Runs compat/operations/{spec.operation}.graphql."
        ),
        "parameters": [_query_parameter(param, settings, spec) for param in query_params],
        "responses": _response(spec),
    }
    if method == "POST":
        operation["requestBody"] = _form_body(spec.params, settings, spec)
    return operation


def openapi_document(
    routes: Iterable[RouteSpec], settings: Settings, mount: str = "/douyin"
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for spec in routes:
        paths[mount + spec.path] = {
            method.lower(): _operation(spec, method, settings) for method in spec.methods
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Minimal Douyin REST API",
            "version": "1.0",
            "description": (
                "The official douyin routes for the Android app, each one fixed GraphQL operation executed "
                "in-process. Parameters come from the query string first, then the form body "
                "(publish: the form first). Paths work with and without the trailing slash. "
                "Every response is HTTP 200 JSON with status_code and status_msg."
            ),
        },
        "paths": paths,
        "components": {"schemas": _components()},
    }
