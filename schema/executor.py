"""The in-process door into the schema, for callers that are not `/graphql` (the douyin routes).

A caller prepares its fixed documents once (parsed and validated against the schema at start-up), then,
per request, starts a `Session` from the request and the token it was given and runs operations in it.
Results are exactly what `/graphql` would answer: data, or errors carrying their `extensions.code`
(classified and, for unexpected ones, masked and logged once, with the request id). The session also says
whether a given token was rejected, which the schema alone cannot tell a client ("no viewer").

Prepared documents run straight on graphql-core: parsing, validation and the guard rails have already been
done for them once, so per-request work is execution alone. `/graphql` uses the same door for the
documents clients send (`Executor.prepare_request`): each distinct document is parsed under the token
limit and validated with the schema's rules and the guard rails once, then executed directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.datastructures import FormData
from starlette.requests import Request
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import validate_document

from core import metrics, telemetry
from core.clock import Clock
from resolvers.errors import DomainError
from schema import schema
from schema.admission import admit
from schema.context import Context, build_context
from schema.errors import INTERNAL_MESSAGE, classify
from schema.guards import limit_rules
from schema.tracing import observe_operation
from schema.uploads import received_form
from settings import Settings
from storage.services import Services

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
# Distinct client documents kept parsed and validated; beyond it the least recently used are dropped.
REQUEST_DOCUMENTS_CACHED = 512
# Strawberry's faster awaitable check, as its own execution uses (typed as a plain bool predicate).
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


class DocumentError(Exception):
    """A document does not parse or does not validate against the schema."""


class OperationFailedError(Exception):
    """An operation answered an error (the first one, coded); partial data counts as a failure."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Whole seconds after which the same request may succeed (RATE_LIMITED), else None.
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    name: str
    node: DocumentNode
    operation_names: frozenset[str]
    # For spans and metrics: the document's SHA-256 and each operation's type (query, mutation).
    digest: str = ""
    operation_types: Mapping[str, str] = field(default_factory=dict)


def _failure(error: GraphQLError) -> OperationFailedError:
    code = (error.extensions or {}).get("code")
    if not isinstance(code, str):  # classify codes every error; this only guards the type
        return OperationFailedError(INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
    retry_after = (error.extensions or {}).get("retryAfter")
    return OperationFailedError(code, error.message, retry_after if isinstance(retry_after, int) else None)


@dataclass(slots=True)
class Session:
    """One request's operations: one context (viewer, loaders) shared by every operation it runs."""

    context: Context
    token_given: bool
    # Each operation in a span (when tracing is on) and counted; off only in the benchmark's baseline.
    observed: bool = True

    @property
    def token_rejected(self) -> bool:
        """A token came with the request but names no viewer (malformed, forged or expired)."""
        return self.token_given and self.context.viewer_id is None

    async def run(
        self, document: PreparedDocument, operation_name: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The operation's data; raises OperationFailedError on the first GraphQL error."""
        if operation_name not in document.operation_names:
            raise LookupError(f"{document.name} has no operation {operation_name}")
        if not self.observed:
            return await self._execute(document, operation_name, variables)
        request = self.context.request
        state = request.scope.setdefault("state", {}) if request is not None else None
        operation_type = document.operation_types.get(operation_name, "query")
        with observe_operation(state, operation_type, operation_name, document.digest) as failures:
            try:
                return await self._execute(document, operation_name, variables)
            except OperationFailedError as failure:
                failures.append(failure.code)
                raise

    async def execute(
        self, node: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> ExecutionResult:
        """The whole result, data and errors (each error classified, as `/graphql` answers them)."""
        result = execute(
            schema._schema,
            node,
            context_value=self.context,
            variable_values=None if variables is None else dict(variables),
            operation_name=operation_name,
            executor_class=schema.execution_context_class,
            is_awaitable=_is_awaitable,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        for error in result.errors or ():
            classify(error, self.context.request_id)
        return result

    async def _execute(
        self, document: PreparedDocument, operation_name: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        result = await self.execute(document.node, operation_name, variables)
        if result.errors:
            raise _failure(result.errors[0])
        if result.data is None:
            raise OperationFailedError(INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
        return result.data


@dataclass(frozen=True, slots=True)
class RequestDocument:
    """A client's document that parsed and validated under the guard rails."""

    node: DocumentNode
    digest: str

    def operation(self, operation_name: str | None) -> OperationDefinitionNode | None:
        """The operation a request runs; None when the name matches none (or none is given and the
        document holds several)."""
        return get_operation_ast(self.node, operation_name)


class Executor:
    def __init__(self, services: Services, *, observed: bool = True) -> None:
        self._services = services
        self._observed = observed
        settings = services.settings
        self._max_tokens = settings.max_query_tokens
        # The same rules, in the same order, as a document sent to the Strawberry view gets.
        limits = limit_rules(
            settings.max_query_depth, settings.max_query_aliases, settings.introspection_enabled
        )
        self._rules = (*specified_rules, *limits)
        self.prepare_request = lru_cache(maxsize=REQUEST_DOCUMENTS_CACHED)(self._prepare_request)

    @property
    def settings(self) -> Settings:
        return self._services.settings

    @property
    def clock(self) -> Clock:
        return self._services.clock

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return schema._schema

    def prepare(self, name: str, text: str) -> PreparedDocument:
        """Parse and validate once; DocumentError when the schema does not accept the document."""
        try:
            node = parse(text)
        except GraphQLError as error:
            raise DocumentError(f"{name}: {error.message}") from error
        errors = validate(schema._schema, node)
        if errors:
            raise DocumentError(f"{name}: " + "; ".join(error.message for error in errors))
        types = {
            definition.name.value: definition.operation.value
            for definition in node.definitions
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None
        }
        metrics.allow_operations(types)
        return PreparedDocument(
            name=name,
            node=node,
            operation_names=frozenset(types),
            digest=telemetry.document_digest(text),
            operation_types=types,
        )

    def _prepare_request(self, text: str) -> RequestDocument | None:
        """A client's document, parsed and validated once (`prepare_request` caches this by text);
        None when it does not parse or validate: the caller then lets the Strawberry view answer,
        with the errors it gives."""
        try:
            node = parse(text, max_tokens=self._max_tokens)
        except GraphQLError:
            return None
        if validate_document(schema._schema, node, self._rules):
            return None
        return RequestDocument(node, telemetry.document_digest(text))

    async def start(self, request: Request | None, token: str | None) -> Session:
        """`token` is the bare JWT; missing, invalid, expired or revoked means anonymous.
        OperationFailedError (RATE_LIMITED) when the request-wide rate limit refuses this request."""
        context = await build_context(self._services, request=request, token=token)
        try:
            await admit(context)
        except DomainError as error:
            metrics.GRAPHQL_ERRORS.labels(error.code.value).inc()
            raise OperationFailedError(error.code.value, error.message, error.retry_after) from None
        return Session(context=context, token_given=bool(token), observed=self._observed)

    @asynccontextmanager
    async def received_form(
        self, request: Request, admit: Callable[[FormData], Awaitable[Session]]
    ) -> AsyncIterator[FormData]:
        """An upload's multipart form, read as it arrives (see `schema.uploads`): `admit` is told the
        fields before the file part and answers the session to admit the upload for, or raises to refuse
        it before any of the file is stored. OperationFailedError (RATE_LIMITED) when there is no slot;
        `core.multipart.FormError` for a malformed, oversized or too slow body."""

        async def admitted(fields: FormData) -> Context:
            return (await admit(fields)).context

        reading = True
        try:
            async with received_form(request, self._services, admitted) as form:
                reading = False
                yield form
        except DomainError as error:
            if not reading:
                raise
            metrics.GRAPHQL_ERRORS.labels(error.code.value).inc()
            raise OperationFailedError(error.code.value, error.message, error.retry_after) from None
