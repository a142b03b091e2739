"""Follows: who a user follows, who follows them, mutual follows (friends), follow and unfollow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from resolvers import rate_limits
from resolvers.errors import bad_input
from resolvers.locks import lock_users
from resolvers.pagination import Page, PageRequest, Position, build_page, newest_first
from resolvers.rate_limits import Action, Client
from storage.counters import add_to_counters
from storage.db import insert_ignore
from storage.models import Follow, User, table_of
from storage.services import Services


async def _users_page(
    services: Services, statement: Select[tuple[User, int]], request: PageRequest
) -> Page[User]:
    """Users listed with the time of the follow that lists them (the cursor's time)."""
    async with services.db.read() as session:
        rows = (await session.execute(statement)).tuples().all()
    page = build_page(rows, request, lambda row: Position(int(row[1]), int(row[0].id or 0)))
    return Page([(cursor, user) for cursor, (user, _) in page.items], page.has_next, page.has_previous)


async def _follow_list(
    services: Services, user_id: int, request: PageRequest, *, listed: Any, owner: Any
) -> Page[User]:
    """The users in the `listed` column of the follows whose `owner` column is `user_id`, newest first."""
    statement = (
        select(User, col(Follow.created_at)).join(Follow, listed == col(User.id)).where(owner == user_id)
    )
    return await _users_page(
        services, newest_first(statement, col(Follow.created_at), listed, request), request
    )


async def following(services: Services, user_id: int, request: PageRequest) -> Page[User]:
    """Users `user_id` follows, most recently followed first."""
    return await _follow_list(
        services, user_id, request, listed=col(Follow.followee_id), owner=col(Follow.follower_id)
    )


async def followers(services: Services, user_id: int, request: PageRequest) -> Page[User]:
    """Users following `user_id`, most recent first."""
    return await _follow_list(
        services, user_id, request, listed=col(Follow.follower_id), owner=col(Follow.followee_id)
    )


async def friends(services: Services, user_id: int, request: PageRequest) -> Page[User]:
    """Mutual follows of `user_id`, ordered by when `user_id` followed them, newest first."""
    outgoing = aliased(Follow)
    back = aliased(Follow)
    statement = (
        select(User, col(outgoing.created_at))
        .join(outgoing, col(outgoing.followee_id) == col(User.id))
        .join(
            back,
            and_(
                col(back.follower_id) == col(outgoing.followee_id),
                col(back.followee_id) == col(outgoing.follower_id),
            ),
        )
        .where(col(outgoing.follower_id) == user_id)
    )
    return await _users_page(
        services,
        newest_first(statement, col(outgoing.created_at), col(outgoing.followee_id), request),
        request,
    )


async def _reload_user(session: AsyncSession, user_id: int) -> User:
    statement = select(User).where(col(User.id) == user_id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


async def follow_user(
    services: Services, viewer_id: int, target_id: int, *, address: str | None = None
) -> User:
    await rate_limits.enforce(services, Action.SOCIAL, Client(viewer_id, address))
    if viewer_id == target_id:
        raise bad_input("You cannot follow yourself")

    async def work(session: AsyncSession) -> User:
        await lock_users(session, viewer_id, target_id)
        values = {"follower_id": viewer_id, "followee_id": target_id, "created_at": services.clock.now_ms()}
        if await insert_ignore(session, table_of(Follow), values):
            await _change_follow_counters(session, viewer_id, target_id, +1)
        return await _reload_user(session, target_id)

    return await services.db.run_write(work)


async def unfollow_user(
    services: Services, viewer_id: int, target_id: int, *, address: str | None = None
) -> User:
    await rate_limits.enforce(services, Action.SOCIAL, Client(viewer_id, address))
    if viewer_id == target_id:
        raise bad_input("You cannot unfollow yourself")

    async def work(session: AsyncSession) -> User:
        await lock_users(session, viewer_id, target_id)
        follows = table_of(Follow)
        result = await session.execute(
            delete(follows).where(follows.c.follower_id == viewer_id, follows.c.followee_id == target_id)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await _change_follow_counters(session, viewer_id, target_id, -1)
        return await _reload_user(session, target_id)

    return await services.db.run_write(work)


async def _change_follow_counters(
    session: AsyncSession, follower_id: int, followee_id: int, delta: int
) -> None:
    users = table_of(User)
    changes = [(follower_id, {"follow_count": delta}), (followee_id, {"follower_count": delta})]
    for user_id, deltas in sorted(changes, key=lambda change: change[0]):
        await add_to_counters(session, users, user_id, **deltas)
