"""Every route's fixed operation passes the default cost limit, with every page at the maximum."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse

from compat.documents import load_document
from compat.routes import ROUTES
from schema import schema
from schema.cost import estimate_nodes
from settings import Settings

DEFAULTS = Settings.model_fields


def test_every_route_operation_is_under_the_default_cost_limit() -> None:
    limit = int(DEFAULTS["max_query_cost"].default)
    max_page_size = int(DEFAULTS["max_page_size"].default)
    estimates = {}
    for spec in ROUTES:
        document = parse(load_document(spec.operation, schema._schema).text)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                name = definition.name.value
                # Variables that name nothing do not coerce: every `first` then counts at the maximum.
                estimates[name] = estimate_nodes(schema._schema, document, name, {}, max_page_size)
    assert estimates["FavoriteList"] > max_page_size  # pages are weighed at the maximum
    assert max(estimates.values()) <= limit / 3, estimates  # with room to spare
