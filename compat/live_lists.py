"""The feed and the comment list, each as two operations: the list's live part (ids, counters, the
caller's likes and follows), run on every request, and its unchanging part (titles, URLs, names, text)
by those ids, kept once run (schema/results.py). The two are merged into the nodes the one-operation
route would have had, then shaped as every other route's (compat/shapes.py).

The unchanging part is kept item by item, keyed by id: no write can make it stale (a new video, a
deleted comment or a new count changes the live part, never what an id shows otherwise), and a list
that shifts by one new item costs one item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compat.call import Call
from compat.envelope import CompatError
from compat.execution import compat_error
from compat.feed_paging import page_by_millisecond
from compat.shapes import comment_json, video_json
from core.clock import iso_from_ms
from schema.executor import OperationFailedError
from schema.results import run_kept_items

Payload = dict[str, Any]
Node = Mapping[str, Any]
LIST_MAX_ITEMS = 1000
NO_SUCH_VIDEO = "Video doesn't exist"


async def _kept(call: Call, operation: str, field: str, ids: list[str]) -> list[Node | None]:
    try:
        return await run_kept_items(call.session, call.document, operation, field, ids)
    except OperationFailedError as failure:
        raise compat_error(failure) from None


def _signed_in(call: Call) -> bool:
    return call.session.context.viewer_id is not None


def _author(public: Node, authors: Node, index: int, signed_in: bool) -> dict[str, Any]:
    return {
        **public,
        "followCount": authors["followCounts"][index],
        "followerCount": authors["followerCounts"][index],
        "totalFavorited": authors["totalFavorited"][index],
        "workCount": authors["workCounts"][index],
        "favoriteCount": authors["favoriteCounts"][index],
        "viewerIsFollowing": signed_in and authors["viewerIsFollowing"][index],
    }


async def feed(call: Call) -> Payload:
    size = call.settings.feed_page_size
    signed_in = _signed_in(call)
    variables = {"first": size + 1, "before": iso_from_ms(call.params["latest_time"]), "signedIn": signed_in}
    live = (await call.run("Feed", variables))["feedCounters"]
    public = await _kept(call, "FeedVideos", "videos", live["ids"])
    authors = live["authors"]
    nodes: list[Node] = []
    for index, video in enumerate(public):
        if video is None:  # videos are never deleted; this only guards the type
            continue
        nodes.append(
            {
                **video,
                "author": _author(video["author"], authors, index, signed_in),
                "favoriteCount": live["favoriteCounts"][index],
                "commentCount": live["commentCounts"][index],
                "viewerHasLiked": signed_in and live["viewerHasLiked"][index],
            }
        )
    nodes, next_time = page_by_millisecond(nodes, size, call.now_ms)
    return {"next_time": next_time, "video_list": [video_json(node) for node in nodes]}


async def comment_list(call: Call) -> Payload:
    """Every comment (up to LIST_MAX_ITEMS), newest first, page by page as the schema pages them."""
    signed_in = _signed_in(call)
    video_id = str(call.params["video_id"])
    shown: list[Payload] = []
    after: str | None = None
    while len(shown) < LIST_MAX_ITEMS:
        first = min(call.page_size, LIST_MAX_ITEMS - len(shown))
        variables = {"videoId": video_id, "first": first, "after": after, "signedIn": signed_in}
        live = (await call.run("CommentList", variables))["commentCounters"]
        if live is None:
            raise CompatError("NOT_FOUND", NO_SUCH_VIDEO)
        if live["ids"]:
            public = await _kept(call, "CommentTexts", "comments", live["ids"])
            authors = live["authors"]
            for index, comment in enumerate(public):
                if comment is None:  # deleted since the live part was read
                    continue
                node = {**comment, "author": _author(comment["author"], authors, index, signed_in)}
                shown.append(comment_json(node))
        page_info = live["pageInfo"]
        if not page_info["hasNextPage"] or not page_info["endCursor"]:
            break
        after = page_info["endCursor"]
    return {"comment_list": shown}
