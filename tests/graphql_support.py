"""Helpers for the GraphQL tests: run an operation over HTTP, and create rows fast.

Rows are written straight to the database where a test needs many of them (argon2 makes `register`
deliberately slow); tokens come from the same module the API uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.clock import now_ms
from resolvers.auth import issue_token
from storage.models import Comment, Follow, Message, User, Video, table_of
from storage.services import Services


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    token: str

    @property
    def gid(self) -> str:
        return str(self.id)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data_of(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def error_codes(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> list[str]:
    body = await gql(client, query, variables, token=token)
    assert body.get("errors"), body
    return [error["extensions"]["code"] for error in body["errors"]]


async def create_users(services: Services, count: int, prefix: str = "user") -> list[Account]:
    accounts = []
    async with services.db.write() as session:
        for index in range(count):
            name = f"{prefix}{index}"
            result = await session.execute(
                table_of(User)
                .insert()
                .values(
                    name=name,
                    password_hash="not-a-real-hash",
                    avatar_key="",
                    background_key="",
                    signature="",
                    created_at=now_ms(),
                )
            )
            user_id = int(result.inserted_primary_key[0])  # type: ignore[attr-defined]
            accounts.append(Account(user_id, name, issue_token(services.settings, user_id)))
    return accounts


async def create_videos(
    services: Services, author: Account, count: int, *, start_ms: int = 1_700_000_000_000, step_ms: int = 1000
) -> list[int]:
    """`count` videos by `author`, created `step_ms` apart from `start_ms` on (so, oldest first)."""
    ids = []
    async with services.db.write() as session:
        for index in range(count):
            result = await session.execute(
                table_of(Video)
                .insert()
                .values(
                    author_id=author.id,
                    title=f"video {index}",
                    play_key=f"videos/{author.id}/{index}.mp4",
                    cover_key=f"covers/{author.id}/{index}.jpg",
                    duration_ms=2000,
                    width=640,
                    height=360,
                    favorite_count=0,
                    comment_count=0,
                    created_at=start_ms + index * step_ms,
                )
            )
            ids.append(int(result.inserted_primary_key[0]))  # type: ignore[attr-defined]
        await session.execute(
            table_of(User).update().where(table_of(User).c.id == author.id).values(work_count=count)
        )
    return ids


async def create_follows(services: Services, pairs: list[tuple[Account, Account]]) -> None:
    """Follow rows only (no counters): for list and query-count tests."""
    async with services.db.write() as session:
        for index, (follower, followee) in enumerate(pairs):
            await session.execute(
                table_of(Follow)
                .insert()
                .values(
                    follower_id=follower.id, followee_id=followee.id, created_at=1_700_000_000_000 + index
                )
            )


async def create_message(
    services: Services, sender: Account, recipient: Account, content: str, at_ms: int
) -> None:
    async with services.db.write() as session:
        await session.execute(
            table_of(Message)
            .insert()
            .values(
                sender_id=sender.id,
                recipient_id=recipient.id,
                pair_low=min(sender.id, recipient.id),
                pair_high=max(sender.id, recipient.id),
                content=content,
                created_at=at_ms,
            )
        )


async def create_comments(services: Services, video_id: int, writers: list[Account], rounds: int) -> None:
    """`rounds` comments by each writer on one video, one millisecond apart, with the video's count."""
    async with services.db.write() as session:
        for index in range(rounds * len(writers)):
            writer = writers[index % len(writers)]
            await session.execute(
                table_of(Comment)
                .insert()
                .values(
                    video_id=video_id,
                    user_id=writer.id,
                    content=f"comment {index}",
                    created_at=1_700_000_000_000 + index,
                )
            )
        videos = table_of(Video)
        await session.execute(
            videos.update()
            .where(videos.c.id == video_id)
            .values(comment_count=videos.c.comment_count + rounds * len(writers))
        )
