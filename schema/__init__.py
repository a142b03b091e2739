"""The Strawberry schema: types and root fields per domain, composed here."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.auth import AuthMutation
from schema.budget import BudgetedExecutionContext
from schema.chat import ChatMutation, ChatQuery
from schema.comments import CommentMutation
from schema.cost import CostLimit
from schema.errors import classify, retry_after_of
from schema.execution import Executor
from schema.guards import GuardRails
from schema.live_counts import LiveCountsQuery
from schema.publishing import PublishingMutation
from schema.scalars import SCALAR_MAP
from schema.social import SocialMutation
from schema.subscriptions import ChatSubscription
from schema.tracing import OperationTelemetry
from schema.users import UserQuery
from schema.videos import VideoMutation, VideoQuery


class DouyinExecutionContext(BudgetedExecutionContext, Executor):
    """The execution context both faces run operations with."""


@strawberry.type
class Query(UserQuery, VideoQuery, ChatQuery, LiveCountsQuery):
    pass


@strawberry.type
class Mutation(
    AuthMutation, VideoMutation, PublishingMutation, CommentMutation, SocialMutation, ChatMutation
):
    pass


@strawberry.type
class Subscription(ChatSubscription):
    pass


class DouyinSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context: Any = execution_context.context if execution_context is not None else None
        request_id = str(getattr(context, "request_id", "-"))
        for error in errors:
            classify(error, request_id)
        retry_after = retry_after_of(errors)
        request = getattr(context, "request", None)
        if retry_after is not None and request is not None:
            # For the HTTP view's Retry-After header (schema/http.py).
            request.scope.setdefault("state", {})["retry_after"] = retry_after


schema = DouyinSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    # Queries answer TIMEOUT once past their time budget (schema/budget.py); lists of scalars are
    # completed in one pass (schema/execution.py).
    execution_context_class=DouyinExecutionContext,
    # Order matters: the guard rails set the token limit before parsing and add the limit rules before
    # validation; the caches then parse and validate each distinct document once; the cost limit then
    # weighs the validated document with its variables. The operation's span and metrics come last
    # (operation hooks only, never per field).
    extensions=[GuardRails, ParserCache, ValidationCache, CostLimit, OperationTelemetry],
)
