"""The follow mutations (the follow lists live on `User`)."""

from __future__ import annotations

import strawberry

from resolvers import social
from resolvers.validation import parse_id
from schema.build import user_from_row
from schema.context import Info
from schema.permissions import IsAuthenticated, viewer_id
from schema.users import User


@strawberry.type
class SocialMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Idempotent; BAD_USER_INPUT for oneself."
    )
    async def follow_user(self, info: Info, user_id: strawberry.ID) -> User:
        row = await social.follow_user(
            info.context.services,
            viewer_id(info),
            parse_id("userId", user_id),
            address=info.context.client_address,
        )
        return user_from_row(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Idempotent.")
    async def unfollow_user(self, info: Info, user_id: strawberry.ID) -> User:
        row = await social.unfollow_user(
            info.context.services,
            viewer_id(info),
            parse_id("userId", user_id),
            address=info.context.client_address,
        )
        return user_from_row(row)
