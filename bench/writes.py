"""The concurrent writer of the realistic benchmark, and its stale-read check.

While wrk reads, this writes through the project's REST routes at about 10% of the read rate the server
under test is answering (read from its `/__bench/stats` a few times a second): likes and unlikes,
comments and their deletion, follows and unfollows, on the videos and authors of the pages the readers
see (70% the head of the feed, 30% older pages); new videos now and then on the feed workloads; chat
messages on the chat workload (in conversations the pollers do not read, so their polls stay "nothing
new"). Writes alternate between the worker under test and a second worker of the app on the same
database, so a cache that only the writing worker invalidates shows up as stale reads.

After each write is answered, the very next request is a read of what it changed, from the server under
test, through the workload's own route (the feed page the video is on, the user, the comment list, the
chat poll; GraphQL for the GraphQL workload), by the writer or by another viewer. The read must show the
write: counts, is_favorite, is_follow, the new or deleted comment, the new video, the new message.
Anything else is a stale read.

Expected values are exact: the writer is the only one writing, every key it writes (a video's counters,
a user's counters, a like, a follow, a conversation) is locked from the write until its check read is
answered, and each key's starting value is read from the database itself the first time it is touched.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.clock import iso_from_ms

WRITE_SHARE = 0.10  # of the reads the server under test answered
WRITERS = 32  # writes in flight at most
PUBLISH_EVERY_SECONDS = 2.0
HEAD_SHARE = 0.7
STALE_EXAMPLES = 5
USER_COUNTERS = ("follow_count", "follower_count", "total_favorited", "work_count", "favorite_count")
GRAPHQL_FEED = (
    "query Feed($first: Int!, $before: DateTime) { feed(first: $first, before: $before) { nodes { id "
    "author { id name followCount followerCount viewerIsFollowing avatar backgroundImage signature "
    "totalFavorited workCount favoriteCount } playUrl coverUrl favoriteCount commentCount viewerHasLiked "
    "title createdAt } } }"
)


@dataclass(frozen=True, slots=True)
class Viewer:
    id: int
    token: str


@dataclass(frozen=True, slots=True)
class PageVideo:
    id: int
    author_id: int
    created_at: int


@dataclass(frozen=True, slots=True)
class FeedPage:
    latest_time: int | None  # None: the head of the feed
    videos: tuple[PageVideo, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    viewers: tuple[Viewer, ...]
    head: FeedPage
    older: tuple[FeedPage, ...]  # repeated by how often readers reach each page
    chat_pairs: tuple[tuple[Viewer, Viewer], ...]  # conversations only the writer uses
    clip: Path  # a small real video for publishing


@dataclass(frozen=True, slots=True)
class Target:
    """Where the check reads go and how they are made."""

    base: str
    face: str  # "feed" | "feed_anon" | "graphql_feed" | "user" | "comments" | "chat"
    read_route: str  # the "METHOD path" whose requests set the write rate


@dataclass(slots=True)
class RunReport:
    writes: int = 0
    write_errors: int = 0
    checks: int = 0
    stale: int = 0
    publishes: int = 0
    reads_seen: int = 0
    examples: list[str] = field(default_factory=list)
    write_seconds: list[float] = field(default_factory=list)


@dataclass(slots=True)
class VideoState:
    favorite_count: int
    comment_count: int


class StaleReadError(Exception):
    """A read right after a write did not show it."""


class Writer:
    def __init__(self, plan: Plan, database_url: str, app_bases: Sequence[str]) -> None:
        self.plan = plan
        self.app_bases = list(app_bases)
        options: dict[str, Any] = {}
        if make_url(database_url).get_backend_name() == "mysql":
            options["isolation_level"] = "AUTOCOMMIT"  # every read a fresh snapshot
        self.engine: AsyncEngine = create_async_engine(database_url, **options)
        self.client = httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=64, max_keepalive_connections=32)
        )
        self.rng = random.Random(7)
        self.locks: dict[tuple[str, int], asyncio.Lock] = {}
        self.videos: dict[int, VideoState] = {}
        self.users: dict[int, dict[str, int]] = {}
        self.liked: dict[tuple[int, int], bool] = {}
        self.following: dict[tuple[int, int], bool] = {}
        self.chat_seen: dict[tuple[int, int], int] = {}
        self.comments: list[tuple[int, int, Viewer]] = []  # (comment id, video id, writer)
        self.round_robin = itertools.cycle(range(len(self.app_bases)))
        self.published = 0
        self.report = RunReport()
        self.check_reads = 0

    async def close(self) -> None:
        await self.client.aclose()
        await self.engine.dispose()

    # --- the database's truth, the first time a key is touched ----------------------------------------

    async def _scalar(self, sql: str, **values: int) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), values)).first()

    async def video(self, video_id: int) -> VideoState:
        if video_id not in self.videos:
            row = await self._scalar(
                "SELECT favorite_count, comment_count FROM videos WHERE id = :v", v=video_id
            )
            self.videos[video_id] = VideoState(int(row[0]), int(row[1]))
        return self.videos[video_id]

    async def user(self, user_id: int) -> dict[str, int]:
        if user_id not in self.users:
            row = await self._scalar(f"SELECT {', '.join(USER_COUNTERS)} FROM users WHERE id = :u", u=user_id)
            self.users[user_id] = dict(zip(USER_COUNTERS, (int(value) for value in row), strict=True))
        return self.users[user_id]

    async def likes(self, user_id: int, video_id: int) -> bool:
        key = (user_id, video_id)
        if key not in self.liked:
            sql = "SELECT 1 FROM favorites WHERE user_id = :u AND video_id = :v"
            self.liked[key] = await self._scalar(sql, u=user_id, v=video_id) is not None
        return self.liked[key]

    async def follows(self, follower: int | None, followee: int) -> bool:
        if follower is None or follower == followee:
            return False
        key = (follower, followee)
        if key not in self.following:
            sql = "SELECT 1 FROM follows WHERE follower_id = :a AND followee_id = :b"
            self.following[key] = await self._scalar(sql, a=follower, b=followee) is not None
        return self.following[key]

    async def last_message(self, low: int, high: int) -> int:
        if (low, high) not in self.chat_seen:
            sql = "SELECT MAX(created_at) FROM messages WHERE pair_low = :a AND pair_high = :b"
            row = await self._scalar(sql, a=low, b=high)
            self.chat_seen[(low, high)] = int(row[0]) if row and row[0] is not None else 0
        return self.chat_seen[(low, high)]

    # --- one run: writes paced by the reads the target answers ---------------------------------------

    async def run(self, target: Target, stop: asyncio.Event) -> RunReport:
        self.report = RunReport()
        self.check_reads = 0
        allowed = 0
        started = 0

        async def pace() -> None:
            nonlocal allowed
            while not stop.is_set():
                stats = orjson.loads((await self.client.get(f"{target.base}/__bench/stats")).content)
                reads = stats["routes"].get(target.read_route, [0, 0])[0] - self.check_reads
                self.report.reads_seen = reads
                allowed = int(reads * WRITE_SHARE)
                await _sleep_unless(stop, 0.2)

        async def write_loop() -> None:
            nonlocal started
            while not stop.is_set():
                if started >= allowed:
                    await _sleep_unless(stop, 0.02)
                    continue
                started += 1
                await self._one(target)

        async def publish_loop() -> None:
            while not await _sleep_unless(stop, PUBLISH_EVERY_SECONDS):
                await self._guarded(self.publish(target))

        tasks = [asyncio.create_task(pace())]
        tasks += [asyncio.create_task(write_loop()) for _ in range(WRITERS)]
        if target.face in ("feed", "feed_anon", "graphql_feed"):
            tasks.append(asyncio.create_task(publish_loop()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        return self.report

    async def _one(self, target: Target) -> None:
        face = target.face
        if face == "chat":
            operation = self.message
        elif face == "comments":
            operation = self.rng.choices([self.comment, self.uncomment], [0.65, 0.35])[0]
        elif face == "user":
            operation = self.rng.choices([self.like, self.follow], [0.5, 0.5])[0]
        else:
            operation = self.rng.choices(
                [self.like, self.follow, self.comment, self.uncomment], [0.45, 0.25, 0.2, 0.1]
            )[0]
        await self._guarded(operation(target))

    async def _guarded(self, work: Awaitable[None]) -> None:
        try:
            await work
        except (StaleReadError, httpx.HTTPError, orjson.JSONDecodeError, KeyError, TypeError) as failure:
            # A check read that fails or answers something unreadable did not show the write either.
            self.report.stale += 1
            if len(self.report.examples) < STALE_EXAMPLES:
                self.report.examples.append(f"{type(failure).__name__}: {failure}")

    async def _locked(self, keys: Sequence[tuple[str, int]]) -> AsyncExitStack:
        stack = AsyncExitStack()
        for key in sorted(set(keys)):
            await stack.enter_async_context(self.locks.setdefault(key, asyncio.Lock()))
        return stack

    def _page_video(self) -> tuple[FeedPage, PageVideo]:
        page = self.plan.head if self.rng.random() < HEAD_SHARE else self.rng.choice(self.plan.older)
        return page, self.rng.choice(page.videos)

    def _viewer(self, *exclude: int) -> Viewer:
        while True:
            viewer = self.rng.choice(self.plan.viewers)
            if viewer.id not in exclude:
                return viewer

    def _checker(self, target: Target, writer: Viewer) -> Viewer | None:
        """Who reads next: anonymous on the anonymous feed, else the writer or someone else."""
        if target.face == "feed_anon":
            return None
        return writer if self.rng.random() < 0.5 else self._viewer()

    async def _write(self, path: str, params: dict[str, Any], files: Any = None) -> dict[str, Any] | None:
        base = self.app_bases[next(self.round_robin)]
        began = time.perf_counter()
        try:
            if files is None:
                response = await self.client.post(f"{base}{path}", params=params)
            else:
                response = await self.client.post(f"{base}{path}", data=params, files=files)
            body: dict[str, Any] = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError):
            self.report.write_errors += 1
            return None
        self.report.write_seconds.append(time.perf_counter() - began)
        self.report.writes += 1
        if response.status_code != 200 or body.get("status_code") != 0:
            self.report.write_errors += 1
            return None
        return body

    def _forget(self, video_id: int | None = None, *user_ids: int) -> None:
        """After a failed write the state is unknown: read it from the database next time."""
        if video_id is not None:
            self.videos.pop(video_id, None)
            for key in [key for key in self.liked if key[1] == video_id]:
                del self.liked[key]
        for user_id in user_ids:
            self.users.pop(user_id, None)
            for key in [key for key in self.following if user_id in key]:
                del self.following[key]

    # --- writes --------------------------------------------------------------------------------------

    async def like(self, target: Target) -> None:
        page, video = self._page_video()
        viewer = self._viewer()
        async with await self._locked([("v", video.id), ("u", video.author_id), ("u", viewer.id)]):
            liked = await self.likes(viewer.id, video.id)
            state, author = await self.video(video.id), await self.user(video.author_id)
            liker = await self.user(viewer.id)
            params = {"token": viewer.token, "video_id": video.id, "action_type": 2 if liked else 1}
            if await self._write("/douyin/favorite/action/", params) is None:
                self._forget(video.id, video.author_id, viewer.id)
                return
            delta = -1 if liked else 1
            self.liked[(viewer.id, video.id)] = not liked
            state.favorite_count += delta
            author["total_favorited"] += delta
            liker["favorite_count"] += delta
            checker = self._checker(target, viewer)
            if target.face == "user":
                shown = video.author_id if self.rng.random() < 0.5 else viewer.id
                await self.check_user(target, checker, shown)
            else:
                await self.check_feed(target, checker, page, video, video_fields=True)

    async def follow(self, target: Target) -> None:
        page, video = self._page_video()
        viewer = self._viewer(video.author_id)
        async with await self._locked([("u", video.author_id), ("u", viewer.id)]):
            following = await self.follows(viewer.id, video.author_id)
            author, follower = await self.user(video.author_id), await self.user(viewer.id)
            params = {
                "token": viewer.token,
                "to_user_id": video.author_id,
                "action_type": 2 if following else 1,
            }
            if await self._write("/douyin/relation/action/", params) is None:
                self._forget(None, video.author_id, viewer.id)
                return
            delta = -1 if following else 1
            self.following[(viewer.id, video.author_id)] = not following
            author["follower_count"] += delta
            follower["follow_count"] += delta
            checker = self._checker(target, viewer)
            if target.face == "user":
                shown = video.author_id if self.rng.random() < 0.7 else viewer.id
                await self.check_user(target, checker, shown)
            else:
                await self.check_feed(target, checker, page, video, video_fields=False)

    async def comment(self, target: Target) -> None:
        page, video = self._page_video()
        viewer = self._viewer()
        async with await self._locked([("v", video.id)]):
            state = await self.video(video.id)
            content = f"bench comment {time.time_ns()}"
            params = {"token": viewer.token, "video_id": video.id, "action_type": 1, "comment_text": content}
            body = await self._write("/douyin/comment/action/", params)
            if body is None:
                self._forget(video.id)
                return
            comment_id = int(body["comment"]["id"])
            self.comments.append((comment_id, video.id, viewer))
            state.comment_count += 1
            checker = self._checker(target, viewer)
            if target.face == "comments":
                await self.check_comments(target, checker, video.id, added=comment_id)
            else:
                await self.check_feed(target, checker, page, video, video_fields=True, author_fields=False)

    async def uncomment(self, target: Target) -> None:
        if not self.comments:
            await self.comment(target)
            return
        comment_id, video_id, writer = self.comments.pop(self.rng.randrange(len(self.comments)))
        pages = [self.plan.head, *self.plan.older]
        found = [(p, v) for p in pages for v in p.videos if v.id == video_id]
        async with await self._locked([("v", video_id)]):
            state = await self.video(video_id)
            params = {"token": writer.token, "video_id": video_id, "action_type": 2, "comment_id": comment_id}
            if await self._write("/douyin/comment/action/", params) is None:
                self._forget(video_id)
                return
            state.comment_count -= 1
            checker = self._checker(target, writer)
            if target.face == "comments":
                await self.check_comments(target, checker, video_id, deleted=comment_id)
            elif found:
                page, video = found[0]
                await self.check_feed(target, checker, page, video, video_fields=True, author_fields=False)

    async def message(self, target: Target) -> None:
        sender, recipient = self.rng.choice(self.plan.chat_pairs)
        if self.rng.random() < 0.5:
            sender, recipient = recipient, sender
        low, high = min(sender.id, recipient.id), max(sender.id, recipient.id)
        async with await self._locked([("c", low * 1_000_000 + high)]):
            seen = await self.last_message(low, high)
            content = f"bench message {time.time_ns()}"
            params = {"token": sender.token, "to_user_id": recipient.id, "action_type": 1, "content": content}
            if await self._write("/douyin/message/action/", params) is None:
                self.chat_seen.pop((low, high), None)
                return
            reader, other = (recipient, sender) if self.rng.random() < 0.7 else (sender, recipient)
            # Half the polls continue from the newest message held (the APK's incremental poll), half
            # load the whole conversation (a chat window opening): the same URL every time.
            after = seen if self.rng.random() < 0.5 else 0
            url = f"{target.base}/douyin/message/chat/"
            body = await self._read(
                url, {"token": reader.token, "to_user_id": other.id, "pre_msg_time": after}
            )
            listed = body.get("message_list") or []
            mine = [m for m in listed if m["content"] == content and m["from_user_id"] == sender.id]
            if not mine or any(m["create_time"] <= after for m in listed):
                where = f"{url}?pre_msg_time={after}"
                raise StaleReadError(f"chat {sender.id}->{recipient.id}: the new message is not in {where}")
            self.chat_seen[(low, high)] = max(m["create_time"] for m in listed)

    async def publish(self, target: Target) -> None:
        author = self._viewer()
        async with await self._locked([("u", author.id)]):
            counters = await self.user(author.id)
            self.published += 1
            title = f"bench new video {self.published} {time.time_ns()}"
            files = {"data": ("clip.mp4", self.plan.clip.read_bytes(), "video/mp4")}
            if (
                await self._write("/douyin/publish/action/", {"token": author.token, "title": title}, files)
                is None
            ):
                self._forget(None, author.id)
                return
            self.report.publishes += 1
            counters["work_count"] += 1
            checker = self._checker(target, author)
            videos = await self._feed_page(target, checker, None)
            if not videos or videos[0]["title"] != title:
                raise StaleReadError(
                    f"new video {title!r} is not first on the head of the feed ({target.face})"
                )
            new = videos[0]
            if new["favorite_count"] or new["comment_count"] or new["is_favorite"]:
                raise StaleReadError(f"new video {title!r} shows likes or comments")
            await self._compare_user(new["author"], author.id, checker, f"author of new video {title!r}")

    # --- check reads ---------------------------------------------------------------------------------

    async def _read(self, url: str, params: dict[str, Any], **options: Any) -> dict[str, Any]:
        self.check_reads += 1
        self.report.checks += 1
        response = await self.client.get(url, params=params, **options)
        body: dict[str, Any] = orjson.loads(response.content)
        if response.status_code != 200 or body.get("status_code", 0) != 0:
            raise StaleReadError(f"check read {url} answered {response.status_code} {body.get('status_msg')}")
        return body

    async def _feed_page(self, target: Target, checker: Viewer | None, latest_time: int | None) -> list[Any]:
        """A feed page in the douyin shape, through the target's own face."""
        if target.face == "graphql_feed":
            self.check_reads += 1
            self.report.checks += 1
            variables = {"first": 30, "before": None if latest_time is None else iso_from_ms(latest_time)}
            headers = {"Authorization": f"Bearer {checker.token}"} if checker else {}
            response = await self.client.post(
                f"{target.base}/graphql",
                json={"query": GRAPHQL_FEED, "variables": variables},
                headers=headers,
            )
            body = orjson.loads(response.content)
            if response.status_code != 200 or body.get("errors"):
                raise StaleReadError(
                    f"GraphQL check read answered {response.status_code} {body.get('errors')}"
                )
            return [_from_graphql(node) for node in body["data"]["feed"]["nodes"]]
        params: dict[str, Any] = {}
        if latest_time is not None:
            params["latest_time"] = latest_time
        if checker is not None:
            params["token"] = checker.token
        return list((await self._read(f"{target.base}/douyin/feed/", params))["video_list"])

    async def check_feed(
        self,
        target: Target,
        checker: Viewer | None,
        page: FeedPage,
        video: PageVideo,
        *,
        video_fields: bool,
        author_fields: bool = True,
    ) -> None:
        """The page the video is on (as readers ask for it), else a page starting at the video."""
        videos = await self._feed_page(target, checker, page.latest_time)
        shown = [item for item in videos if item["id"] == video.id]
        if not shown:
            videos = await self._feed_page(target, checker, video.created_at + 1)
            shown = [item for item in videos if item["id"] == video.id]
        if not shown:
            raise StaleReadError(f"video {video.id} is on no feed page")
        where = f"video {video.id} on the feed ({target.face}, viewer {checker.id if checker else '-'})"
        if video_fields:
            state = self.videos[video.id]
            liked = False if checker is None else await self.likes(checker.id, video.id)
            got = shown[0]
            expected = (state.favorite_count, state.comment_count, liked)
            actual = (got["favorite_count"], got["comment_count"], got["is_favorite"])
            if actual != expected:
                raise StaleReadError(f"{where}: (likes, comments, is_favorite) {actual}, expected {expected}")
        if author_fields:
            for item in videos:
                if item["author"]["id"] == video.author_id:
                    await self._compare_user(item["author"], video.author_id, checker, where)

    async def check_user(self, target: Target, checker: Viewer | None, user_id: int) -> None:
        params: dict[str, Any] = {"user_id": user_id}
        if checker is not None:
            params["token"] = checker.token
        body = await self._read(f"{target.base}/douyin/user/", params)
        await self._compare_user(body["user"], user_id, checker, f"user {user_id}")

    async def _compare_user(
        self, shown: dict[str, Any], user_id: int, checker: Viewer | None, where: str
    ) -> None:
        counters = await self.user(user_id)
        expected = {name: counters[name] for name in USER_COUNTERS}
        expected_follow = await self.follows(checker.id if checker else None, user_id)
        actual = {name: shown[name] for name in USER_COUNTERS}
        if actual != expected or shown["is_follow"] != expected_follow:
            raise StaleReadError(
                f"{where}: author {user_id} shows {actual} is_follow={shown['is_follow']}, "
                f"expected {expected} is_follow={expected_follow} (viewer {checker.id if checker else '-'})"
            )

    async def check_comments(
        self, target: Target, checker: Viewer | None, video_id: int, added: int = 0, deleted: int = 0
    ) -> None:
        params: dict[str, Any] = {"video_id": video_id}
        if checker is not None:
            params["token"] = checker.token
        listed = (await self._read(f"{target.base}/douyin/comment/list/", params))["comment_list"]
        ids = [item["id"] for item in listed]
        expected = self.videos[video_id].comment_count
        where = f"comments of video {video_id}"
        if added and (not ids or ids[0] != added):
            raise StaleReadError(f"{where}: new comment {added} is not first")
        if deleted and deleted in ids:
            raise StaleReadError(f"{where}: deleted comment {deleted} still listed")
        if len(ids) != min(expected, 1000):  # the route lists at most 1000
            raise StaleReadError(f"{where}: {len(ids)} listed, expected {expected}")


def _from_graphql(node: dict[str, Any]) -> dict[str, Any]:
    author = node["author"]
    return {
        "id": int(node["id"]),
        "title": node["title"],
        "favorite_count": node["favoriteCount"],
        "comment_count": node["commentCount"],
        "is_favorite": node["viewerHasLiked"],
        "author": {
            "id": int(author["id"]),
            "follow_count": author["followCount"],
            "follower_count": author["followerCount"],
            "total_favorited": author["totalFavorited"],
            "work_count": author["workCount"],
            "favorite_count": author["favoriteCount"],
            "is_follow": author["viewerIsFollowing"],
        },
    }


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, returning True at once when `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
