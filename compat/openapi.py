"""The OpenAPI 3.1 document of the douyin routes, generated from the route table at start-up so it
states exactly what the code accepts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compat.envelope import STATUS_MEANINGS
from compat.params import Kind, Param
from compat.routes import INT64, STRING, RouteSpec
from settings import Settings

OPENAPI_VERSION = "3.1.0"

_USER_FIELDS: dict[str, Any] = {
    "id": INT64,
    "name": STRING,
    "follow_count": {**INT64, "description": "Users this user follows."},
    "follower_count": INT64,
    "is_follow": {"type": "boolean", "description": "Whether the caller follows this user."},
    "avatar": {**STRING, "format": "uri"},
    "background_image": {**STRING, "format": "uri"},
    "signature": STRING,
    "total_favorited": {**INT64, "description": "Likes received over all of this user's videos."},
    "work_count": INT64,
    "favorite_count": {**INT64, "description": "Videos this user likes."},
}


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }
    if description:
        schema["description"] = description
    return schema


def _components() -> dict[str, Any]:
    user_ref = {"$ref": "#/components/schemas/User"}
    codes = "; ".join(f"{code} = {meaning}" for code, meaning in STATUS_MEANINGS.items())
    return {
        "Envelope": _object(
            {
                "status_code": {"type": "integer", "format": "int32", "enum": list(STATUS_MEANINGS)},
                "status_msg": {**STRING, "description": '"success", or what went wrong.'},
            },
            f"Every response, always with HTTP 200. status_code: {codes}.",
        ),
        "User": _object(dict(_USER_FIELDS)),
        "Video": _object(
            {
                "id": INT64,
                "author": user_ref,
                "play_url": {**STRING, "format": "uri"},
                "cover_url": {**STRING, "format": "uri"},
                "favorite_count": INT64,
                "comment_count": INT64,
                "is_favorite": {"type": "boolean", "description": "Whether the caller likes this video."},
                "title": STRING,
            }
        ),
        "Comment": _object(
            {
                "id": INT64,
                "user": user_ref,
                "content": STRING,
                "create_date": {**STRING, "pattern": "^[0-9]{2}-[0-9]{2}$", "description": "MM-DD, UTC."},
            }
        ),
        "Message": _object(
            {
                "id": INT64,
                "to_user_id": INT64,
                "from_user_id": INT64,
                "content": STRING,
                "create_time": {**INT64, "description": "Epoch milliseconds, unique within a conversation."},
            }
        ),
        "FriendUser": _object(
            {
                **_USER_FIELDS,
                "message": {**STRING, "description": 'The latest message with the caller; "" when none.'},
                "msgType": {
                    "type": "integer",
                    "format": "int64",
                    "enum": [0, 1],
                    "description": "1 when the caller sent the latest message, else 0.",
                },
            }
        ),
    }


def param_schema(param: Param, settings: Settings) -> dict[str, Any]:
    if param.kind is Kind.ID:
        return {**INT64, "minimum": 1}
    if param.kind is Kind.ACTION:
        return {"type": "integer", "format": "int32", "enum": list(param.choices)}
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


def _described(param: Param, settings: Settings) -> dict[str, Any]:
    schema = param_schema(param, settings)
    if param.description:
        schema["description"] = param.description
    return schema


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
        "properties": {param.name: _described(param, settings) for param in fields},
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
        "allOf": [{"$ref": "#/components/schemas/Envelope"}],
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
