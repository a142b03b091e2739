"""The ASGI app serving `/graphql` (HTTP, GraphiQL)."""

from __future__ import annotations

from strawberry.asgi import GraphQL

from schema import schema
from storage.services import Services


def create_graphql_app(services: Services) -> GraphQL[None, None]:
    return GraphQL(schema, graphql_ide="graphiql" if services.settings.graphiql else None)
