"""One douyin request being served: its parsed parameters and a way to run its route's operations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compat.execution import compat_error
from schema.executor import OperationFailedError, PreparedDocument, Session
from settings import Settings


@dataclass(slots=True)
class Call:
    params: Mapping[str, Any]
    session: Session
    settings: Settings
    document: PreparedDocument
    now_ms: int

    async def run(self, operation_name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The operation's data; CompatError on the first GraphQL error (partial data is a failure)."""
        try:
            return await self.session.run(self.document, operation_name, variables)
        except OperationFailedError as failure:
            raise compat_error(failure) from None

    @property
    def page_size(self) -> int:
        return self.settings.max_page_size
