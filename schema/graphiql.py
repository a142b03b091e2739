"""GraphiQL on `GET /graphql`, from the app's own origin: the page built with the web client
(`web/dist/graphiql.html`, React and GraphiQL bundled, no CDN), under a Content-Security-Policy that lets
it load and connect to this origin only. GraphiQL's stylesheet embeds its fonts and icons as `data:` URLs
and sets inline styles, hence those two allowances."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

MISSING = (
    "<!doctype html><title>GraphiQL</title><p>GraphiQL is not built in this installation: "
    "run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>.</p>"
)


def graphiql_page(page: Path) -> Response:
    try:
        html = page.read_text(encoding="utf-8")
    except FileNotFoundError:
        html = MISSING
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
    return HTMLResponse(html, headers=headers)
