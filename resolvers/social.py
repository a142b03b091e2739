"""Follows: who a user follows, who follows them, mutual follows (friends), follow and unfollow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from resolvers import rate_limits
from resolvers.errors import bad_input
from resolvers.locks import lock_users
from resolvers.nested import ChildList
from resolvers.pagination import Position
from resolvers.rate_limits import Action, Client
from storage.counters import add_to_counters
from storage.db import insert_ignore
from storage.models import Follow, User, table_of
from storage.services import Services


def _listed_user(row: Row[Any]) -> User:
    user: User = row[0]
    return user


def _follow_position(row: Row[Any]) -> Position:
    """Users are listed with the time of the follow that lists them (the cursor's time)."""
    return Position(int(row[1]), int(row[0].id or 0))


def _follow_list(name: str, *, listed: Any, owner: Any) -> ChildList[User]:
    """The users in the `listed` column of the follows whose `owner` column is the parent, newest first."""
    return ChildList(
        name=name,
        select=select(User, col(Follow.created_at)).join(Follow, listed == col(User.id)),
        parent=owner,
        time=col(Follow.created_at),
        row_id=listed,
        item=_listed_user,
        position=_follow_position,
    )


FOLLOWING = _follow_list("following", listed=col(Follow.followee_id), owner=col(Follow.follower_id))
"""Users a user follows, most recently followed first."""
FOLLOWERS = _follow_list("followers", listed=col(Follow.follower_id), owner=col(Follow.followee_id))
"""Users following a user, most recent first."""

_outgoing = aliased(Follow)
_back = aliased(Follow)
FRIENDS: ChildList[User] = ChildList(
    name="friends",
    select=select(User, col(_outgoing.created_at))
    .join(_outgoing, col(_outgoing.followee_id) == col(User.id))
    .join(
        _back,
        and_(
            col(_back.follower_id) == col(_outgoing.followee_id),
            col(_back.followee_id) == col(_outgoing.follower_id),
        ),
    ),
    parent=col(_outgoing.follower_id),
    time=col(_outgoing.created_at),
    row_id=col(_outgoing.followee_id),
    item=_listed_user,
    position=_follow_position,
)
"""Mutual follows of a user, ordered by when that user followed them, newest first."""


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
