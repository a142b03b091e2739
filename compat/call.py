"""One douyin request being served: its parsed parameters and a way to run its route's operations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import strawberry

from compat.documents import OperationDocument
from compat.execution import run_operation
from settings import Settings


@dataclass(slots=True)
class Call:
    params: Mapping[str, Any]
    context: Any
    settings: Settings
    schema: strawberry.Schema
    document: OperationDocument
    now_ms: int

    async def run(self, operation_name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        return await run_operation(self.schema, self.document, operation_name, variables, self.context)

    @property
    def page_size(self) -> int:
        return self.settings.max_page_size
