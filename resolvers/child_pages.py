"""The request's loaders for connection fields under lists, one per kind of list (resolvers/nested.py)."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.comments import COMMENTS_OF_VIDEO
from resolvers.nested import ChildPageLoader
from resolvers.social import FOLLOWERS, FOLLOWING, FRIENDS
from resolvers.videos import FAVORITES_OF_USER, VIDEOS_BY_AUTHOR
from storage.db import Database
from storage.models import Comment, User, Video


@dataclass(slots=True)
class ChildPages:
    comments_of_video: ChildPageLoader[Comment]
    videos_by_author: ChildPageLoader[Video]
    favorites_of_user: ChildPageLoader[Video]
    following: ChildPageLoader[User]
    followers: ChildPageLoader[User]
    friends: ChildPageLoader[User]

    @classmethod
    def for_request(cls, db: Database) -> ChildPages:
        return cls(
            comments_of_video=ChildPageLoader(db, COMMENTS_OF_VIDEO),
            videos_by_author=ChildPageLoader(db, VIDEOS_BY_AUTHOR),
            favorites_of_user=ChildPageLoader(db, FAVORITES_OF_USER),
            following=ChildPageLoader(db, FOLLOWING),
            followers=ChildPageLoader(db, FOLLOWERS),
            friends=ChildPageLoader(db, FRIENDS),
        )
