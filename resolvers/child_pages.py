"""The request's loaders for connection fields under lists, one per kind of list (resolvers/nested.py)."""

from __future__ import annotations

from functools import cached_property

from resolvers.comments import COMMENTS_OF_VIDEO
from resolvers.nested import ChildPageLoader
from resolvers.social import FOLLOWERS, FOLLOWING, FRIENDS
from resolvers.videos import FAVORITES_OF_USER, VIDEOS_BY_AUTHOR
from storage.db import Database
from storage.models import Comment, User, Video


class ChildPages:
    """One loader per kind of list, each made on first use."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def for_request(cls, db: Database) -> ChildPages:
        return cls(db)

    @cached_property
    def comments_of_video(self) -> ChildPageLoader[Comment]:
        return ChildPageLoader(self._db, COMMENTS_OF_VIDEO)

    @cached_property
    def videos_by_author(self) -> ChildPageLoader[Video]:
        return ChildPageLoader(self._db, VIDEOS_BY_AUTHOR)

    @cached_property
    def favorites_of_user(self) -> ChildPageLoader[Video]:
        return ChildPageLoader(self._db, FAVORITES_OF_USER)

    @cached_property
    def following(self) -> ChildPageLoader[User]:
        return ChildPageLoader(self._db, FOLLOWING)

    @cached_property
    def followers(self) -> ChildPageLoader[User]:
        return ChildPageLoader(self._db, FOLLOWERS)

    @cached_property
    def friends(self) -> ChildPageLoader[User]:
        return ChildPageLoader(self._db, FRIENDS)
