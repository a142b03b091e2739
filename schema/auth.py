"""`register` and `login`: both answer with a token and the user."""

from __future__ import annotations

import strawberry

from resolvers import auth
from schema.build import user_from_row
from schema.context import Info
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
        return AuthPayload(token=token, user=user_from_row(row))

    @strawberry.mutation(description="UNAUTHENTICATED on a wrong pair.")
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        row, token = await auth.login(
            info.context.services, username, password, address=info.context.client_address
        )
        return AuthPayload(token=token, user=user_from_row(row))
