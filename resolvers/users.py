"""Who is asking: the viewer checks that mutations and viewer-only queries share."""

from __future__ import annotations

from resolvers.errors import unauthenticated


def require_viewer(viewer_id: int | None) -> int:
    if viewer_id is None:
        raise unauthenticated()
    return viewer_id
