"""The OpenAPI 3.1 document at /douyin/openapi.json states what the routes really accept and return."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import openapi_spec_validator

from compat.params import Kind
from compat.routes import ROUTES
from storage.services import Services
from tests.support.factories import add_video
from tests.support.rest import ok, register


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/douyin/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def response_validator(document: dict[str, Any], path: str, method: str) -> Any:
    operation = document["paths"][f"/douyin{path}"][method]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


async def test_the_document_is_valid_openapi_3_1(client: httpx.AsyncClient) -> None:
    document = await openapi(client)
    assert document["openapi"] == "3.1.0"
    openapi_spec_validator.validate(document)


async def test_every_route_with_its_methods_and_parameters(
    client: httpx.AsyncClient, services: Services
) -> None:
    document = await openapi(client)
    assert set(document["paths"]) == {f"/douyin{spec.path}" for spec in ROUTES}
    for spec in ROUTES:
        operations = document["paths"][f"/douyin{spec.path}"]
        assert set(operations) == {method.lower() for method in spec.methods}
        for method, operation in operations.items():
            query = {param["name"]: param for param in operation["parameters"]}
            expected = {param.name for param in spec.params if param.kind is not Kind.FILE}
            assert set(query) == expected
            assert all(param["in"] == "query" for param in query.values())
            if method == "post":
                body = operation["requestBody"]["content"]
                form = body.get("application/x-www-form-urlencoded") or body["multipart/form-data"]
                assert set(form["schema"]["properties"]) == {param.name for param in spec.params}
    register_form = document["paths"]["/douyin/user/register/"]["post"]["requestBody"]["content"]
    username = register_form["application/x-www-form-urlencoded"]["schema"]["properties"]["username"]
    assert username["maxLength"] == services.settings.username_max
    publish = document["paths"]["/douyin/publish/action/"]["post"]["requestBody"]
    assert publish["required"] is True
    assert set(publish["content"]) == {"multipart/form-data"}


async def test_status_codes_are_documented(client: httpx.AsyncClient) -> None:
    envelope = (await openapi(client))["components"]["schemas"]["Envelope"]
    assert envelope["properties"]["status_code"]["enum"] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 500]
    assert "8 = the server is busy" in envelope["description"]
    assert "1 = missing, invalid or expired token" in envelope["description"]


async def test_real_responses_match_the_documented_schemas(
    client: httpx.AsyncClient, services: Services
) -> None:
    document = await openapi(client)
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    video = await add_video(services, alice, "clip")
    await ok(client, "POST", "/relation/action/", {"token": alice_token, "to_user_id": bob, "action_type": 1})
    await ok(client, "POST", "/relation/action/", {"token": bob_token, "to_user_id": alice, "action_type": 1})
    await ok(
        client,
        "POST",
        "/message/action/",
        {"token": bob_token, "to_user_id": alice, "action_type": 1, "content": "hi"},
    )
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("/feed/", "get", {"token": alice_token}),
        ("/user/", "get", {"token": alice_token}),
        ("/publish/list/", "get", {"user_id": alice}),
        ("/favorite/list/", "get", {"user_id": alice}),
        (
            "/comment/action/",
            "post",
            {"token": bob_token, "video_id": video, "action_type": 1, "comment_text": "c"},
        ),
        ("/comment/list/", "get", {"video_id": video}),
        ("/relation/follow/list/", "get", {"user_id": alice}),
        ("/relation/friend/list/", "get", {"token": alice_token}),
        ("/message/chat/", "get", {"token": alice_token, "to_user_id": bob}),
        ("/user/login/", "post", {"username": "alice", "password": "wrong-password"}),
        ("/message/chat/", "get", {"token": "forged", "to_user_id": bob}),
    ]
    for path, method, params in calls:
        body = (await client.request(method.upper(), f"/douyin{path}", params=params)).json()
        errors = list(response_validator(document, path, method).iter_errors(body))
        assert errors == [], (path, body, [error.message for error in errors])
        success = document["paths"][f"/douyin{path}"][method]["responses"]["200"]["content"]
        properties = success["application/json"]["schema"]["allOf"][-1].get("properties", {})
        if body["status_code"] == 0:
            assert set(body) - {"status_code", "status_msg"} == set(properties), path
