"""The JSON Schema pieces the OpenAPI document is built from: the douyin object table, the route table and
compat/openapi.py all describe values with these, so a number or a URL is written the same way everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]

INT32: Mapping[str, Any] = {"type": "integer", "format": "int32"}
INT64: Mapping[str, Any] = {"type": "integer", "format": "int64"}
STRING: Mapping[str, Any] = {"type": "string"}
BOOLEAN: Mapping[str, Any] = {"type": "boolean"}
URI: Mapping[str, Any] = {**STRING, "format": "uri"}


def ref(component: str) -> Schema:
    return {"$ref": f"#/components/schemas/{component}"}


def list_of(component: str) -> Schema:
    return {"type": "array", "items": ref(component)}


def described(schema: Mapping[str, Any], description: str) -> Schema:
    """`schema` with its description last, or unchanged (copied) when there is none."""
    return {**schema, "description": description} if description else dict(schema)


def object_schema(properties: Mapping[str, Any], description: str = "") -> Schema:
    """An object whose every property is required (douyin objects always carry all their keys)."""
    return described(
        {"type": "object", "properties": dict(properties), "required": list(properties)}, description
    )
