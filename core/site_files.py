"""The built web client (`web/dist`), served as static files at `/` on the same origin as the API.

Hashed bundles under `/app/` never change (cached for a year); pages are revalidated on every load, so a
new build reaches browsers at once. Only HTTP: a WebSocket to an unknown path is refused, not an error.
The GraphiQL page is not a file here: `GET /graphql` serves it, when the GRAPHIQL setting allows.
"""

from __future__ import annotations

import os

from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

HASHED_PREFIX = "app/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_SERVED = frozenset({"/graphiql.html"})


class SiteFiles(StaticFiles):
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        # check_dir=False: a checkout without a built client still serves the API.
        super().__init__(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] in NOT_SERVED:
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        hashed = self.get_path(scope).replace(os.sep, "/").startswith(HASHED_PREFIX)
        response.headers["Cache-Control"] = IMMUTABLE if hashed else REVALIDATE
        return response
