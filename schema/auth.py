"""`register` and `login` (both answer with a token and the user), `logout` and `changePassword`."""

from __future__ import annotations

import strawberry

from resolvers import auth, sessions
from schema.build import user_from_row
from schema.context import Info
from schema.permissions import IsAuthenticated, viewer_id
from schema.users import User


@strawberry.type
class AuthPayload:
    token: str
    user: User


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="CONFLICT when the name is taken.")
    async def register(self, info: Info, username: str, password: str) -> AuthPayload:
        row, token = await auth.register(
            info.context.services, username, password, address=info.context.client_address
        )
        await sessions.remember_version(info.context.services, row)
        return AuthPayload(token=token, user=user_from_row(row))

    @strawberry.mutation(description="UNAUTHENTICATED on a wrong pair.")
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        row, token = await auth.login(
            info.context.services, username, password, address=info.context.client_address
        )
        await sessions.remember_version(info.context.services, row)
        return AuthPayload(token=token, user=user_from_row(row))

    @strawberry.mutation(
        description="Signs out: every token of the viewer stops working (on every device). True.",
        permission_classes=[IsAuthenticated],
    )
    async def logout(self, info: Info) -> bool:
        await sessions.logout(info.context.services, viewer_id(info))
        return True

    @strawberry.mutation(
        description=(
            "Sets a new password; every older token of the viewer stops working and the answer carries"
            " a new one. UNAUTHENTICATED when currentPassword is wrong."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> AuthPayload:
        row, token = await sessions.change_password(
            info.context.services, viewer_id(info), current_password, new_password
        )
        return AuthPayload(token=token, user=user_from_row(row))
