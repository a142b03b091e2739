"""Guard rails: document depth, aliases and tokens, limits taken from the settings; and introspection,
refused when the settings turn it off.

The validation rule classes are built once per distinct limit and reused, because Strawberry's
ValidationCache is keyed on the rule classes: fresh classes on every request would make it miss
every time. The extension itself is created per request (no shared `execution_context`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule, ValidationContext
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator

from resolvers.errors import ErrorCode
from settings import Settings

_DEFAULTS = Settings.model_fields


class _TaggingContext:
    """Forwards to a validation context, adding an error code to every reported error."""

    def __init__(self, context: ValidationContext, code: ErrorCode) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": self._code.value}
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _tagged(rule: type[ASTValidationRule], code: ErrorCode) -> type[ASTValidationRule]:
    class TaggedRule(rule):  # type: ignore[misc,valid-type]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_TaggingContext(context, code))

    TaggedRule.__name__ = f"Tagged{rule.__name__}"
    return TaggedRule


_NO_INTROSPECTION = _tagged(NoSchemaIntrospectionCustomRule, ErrorCode.FORBIDDEN)


@cache
def limit_rules(max_depth: int, max_aliases: int, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    rules = (
        _tagged(create_depth_validator(max_depth, None), ErrorCode.QUERY_TOO_COMPLEX),
        _tagged(create_alias_validator(max_aliases), ErrorCode.QUERY_TOO_COMPLEX),
    )
    return rules if introspection else (*rules, _NO_INTROSPECTION)


def _limits(context: object) -> tuple[int, int, int, bool]:
    services = getattr(context, "services", None)
    settings = getattr(services, "settings", None)
    if isinstance(settings, Settings):
        return (
            settings.max_query_depth,
            settings.max_query_aliases,
            settings.max_query_tokens,
            settings.introspection_enabled,
        )
    return (
        int(_DEFAULTS["max_query_depth"].default),
        int(_DEFAULTS["max_query_aliases"].default),
        int(_DEFAULTS["max_query_tokens"].default),
        False,
    )


class GuardRails(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        execution_context = self.execution_context
        depth, aliases, tokens, introspection = _limits(execution_context.context)
        execution_context.parse_options["max_tokens"] = tokens
        rules = limit_rules(depth, aliases, introspection)
        execution_context.validation_rules = execution_context.validation_rules + rules
        yield
