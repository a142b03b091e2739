"""The Strawberry schema: types and root fields per domain, composed here."""

from __future__ import annotations

import strawberry


@strawberry.type
class Query:
    @strawberry.field(description="Always true; a placeholder until the domain fields land.")
    def ok(self) -> bool:
        return True


schema = strawberry.Schema(query=Query)
