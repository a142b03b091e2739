"""Live counters, column by column, and the lists' unchanging parts by id.

What a video, comment or user shows apart from its counters (titles, URLs, names, text) never changes,
so a client may keep it: `videos(ids:)` / `comments(ids:)` answer it, and the `*Counters` types answer the
rest fresh, as one list per counter (entry i of each list is about `ids[i]`). A list of scalars costs
the server a fraction of an object per item, which is what keeps a page of them cheap: the douyin feed
and comment list are each one such operation plus the unchanging part, kept by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.clock import ms_from_datetime
from resolvers import live_counts
from resolvers.errors import DomainError, ErrorCode
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import PageInfo, page_info, page_request

if TYPE_CHECKING:
    from schema.comments import Comment
    from schema.videos import Video


def _ids(values: list[int]) -> list[strawberry.ID]:
    return [strawberry.ID(str(value)) for value in values]


@strawberry.type(description="Live counters of some users; entry i of each list is about `ids[i]`.")
class UserCounters:
    ids: list[strawberry.ID]
    follow_counts: list[int]
    follower_counts: list[int]
    total_favorited: list[int]
    work_counts: list[int]
    favorite_counts: list[int]
    db_ids: strawberry.Private[list[int]]
    # Read with the counters (signed in), or all false (anonymous).
    viewer_follows: strawberry.Private[list[bool]]

    @strawberry.field(description="Whether the viewer follows each (all false when anonymous).")
    def viewer_is_following(self) -> list[bool]:
        return self.viewer_follows


@strawberry.type(description="Live counters of some videos; entry i of each list is about `ids[i]`.")
class VideoCounters:
    ids: list[strawberry.ID]
    favorite_counts: list[int]
    comment_counts: list[int]
    authors: UserCounters = strawberry.field(description="Entry i: the author of video `ids[i]`.")
    viewer_liked: strawberry.Private[list[bool]]

    @strawberry.field(description="Whether the viewer likes each (all false when anonymous).")
    def viewer_has_liked(self) -> list[bool]:
        return self.viewer_liked


@strawberry.type(description="A page of a video's comments, newest first: ids and their writers' counters.")
class CommentCounters:
    ids: list[strawberry.ID]
    authors: UserCounters = strawberry.field(description="Entry i: the writer of comment `ids[i]`.")
    page_info: PageInfo


def user_counters(counts: live_counts.UserCounts) -> UserCounters:
    return UserCounters(
        ids=_ids(counts.ids),
        follow_counts=counts.follow_counts,
        follower_counts=counts.follower_counts,
        total_favorited=counts.total_favorited,
        work_counts=counts.work_counts,
        favorite_counts=counts.favorite_counts,
        db_ids=counts.ids,
        viewer_follows=counts.viewer_follows or [False] * len(counts.ids),
    )


def video_counters(counts: live_counts.VideoCounts) -> VideoCounters:
    return VideoCounters(
        ids=_ids(counts.ids),
        favorite_counts=counts.favorite_counts,
        comment_counts=counts.comment_counts,
        authors=user_counters(counts.authors),
        viewer_liked=counts.viewer_liked or [False] * len(counts.ids),
    )


def comment_counters(counts: live_counts.CommentCounts) -> CommentCounters:
    return CommentCounters(
        ids=_ids(counts.ids), authors=user_counters(counts.authors), page_info=page_info(counts.page)
    )


def _parsed_ids(info: Info, name: str, ids: list[strawberry.ID]) -> list[int]:
    limit = info.context.services.settings.max_page_size
    if len(ids) > limit:
        raise DomainError(ErrorCode.QUERY_TOO_COMPLEX, f"{name} must hold at most {limit} ids")
    return [parse_id(name, value) for value in ids]


@strawberry.type
class LiveCountsQuery:
    @strawberry.field(
        description="The live counters of the page `feed(first:, before:)` answers, in its order."
    )
    async def feed_counters(
        self, info: Info, first: int | None = 30, before: datetime | None = strawberry.UNSET
    ) -> VideoCounters:
        request = page_request(info, first, None)
        services, viewer = info.context.services, info.context.viewer_id
        before_ms = ms_from_datetime(before) if before else None
        return video_counters(await live_counts.feed_counts(services, request.first, before_ms, viewer))

    @strawberry.field(description="The videos among `ids` that exist, in that order.")
    async def video_counters_of(self, info: Info, ids: list[strawberry.ID]) -> VideoCounters:
        wanted = _parsed_ids(info, "ids", ids)
        return video_counters(
            await live_counts.video_counts(info.context.services, wanted, info.context.viewer_id)
        )

    @strawberry.field(description="The users among `ids` that exist, in that order.")
    async def user_counters_of(self, info: Info, ids: list[strawberry.ID]) -> UserCounters:
        wanted = _parsed_ids(info, "ids", ids)
        return user_counters(
            await live_counts.user_counts(info.context.services, wanted, info.context.viewer_id)
        )

    @strawberry.field(
        description="A page of the video's comments as `Video.comments` pages them; null: no such video."
    )
    async def comment_counters(
        self,
        info: Info,
        video_id: strawberry.ID,
        first: int | None = 30,
        after: str | None = strawberry.UNSET,
    ) -> CommentCounters | None:
        from schema import build

        video = parse_id("videoId", video_id)
        counts = await live_counts.comment_counts(
            info.context.services, video, page_request(info, first, after), info.context.viewer_id
        )
        if not counts.ids and await build.load_video(info, video) is None:
            return None  # only an empty page asks whether the video exists
        return comment_counters(counts)

    @strawberry.field(description="Each of `ids`, or null where there is no such video.")
    async def videos(
        self, info: Info, ids: list[strawberry.ID]
    ) -> list[Annotated[Video, strawberry.lazy("schema.videos")] | None]:
        from schema import build

        return await build.videos_by_ids(info, _parsed_ids(info, "ids", ids))

    @strawberry.field(description="Each of `ids`, or null where there is no such comment.")
    async def comments(
        self, info: Info, ids: list[strawberry.ID]
    ) -> list[Annotated[Comment, strawberry.lazy("schema.comments")] | None]:
        from schema import build

        return await build.comments_by_ids(info, _parsed_ids(info, "ids", ids))
