"""Permission classes for root fields and mutations (never for hot scalar fields).

A refusal is a GraphQL error already carrying its `extensions.code`, which schema/errors.py keeps as it
is; compat maps the code to the douyin `status_code`.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from resolvers.errors import SIGN_IN_FIRST, ErrorCode, unauthenticated
from schema.context import Info


class IsAuthenticated(BasePermission):
    """A signed-in viewer (the context resolved a valid token)."""

    message = SIGN_IN_FIRST
    # Strawberry copies these into each error; the dict itself is never changed.
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer_id is not None


def viewer_id(info: Info) -> int:
    """The viewer of a field guarded by `IsAuthenticated`."""
    viewer = info.context.viewer_id
    if viewer is None:  # a field that forgot its permission class
        raise unauthenticated()
    return viewer
