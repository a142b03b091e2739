"""GraphQL results reshaped into the douyin JSON objects (field names exactly as in the official proto).

Ids become JSON numbers, every field is always present, times become epoch ms or `MM-DD`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compat.times import from_datetime, month_day

Node = Mapping[str, Any]


def user_json(user: Node) -> dict[str, Any]:
    return {
        "id": int(user["id"]),
        "name": user["name"],
        "follow_count": user["followCount"],
        "follower_count": user["followerCount"],
        "is_follow": user["viewerIsFollowing"],
        "avatar": user["avatar"],
        "background_image": user["backgroundImage"],
        "signature": user["signature"],
        "total_favorited": user["totalFavorited"],
        "work_count": user["workCount"],
        "favorite_count": user["favoriteCount"],
    }


def video_json(video: Node) -> dict[str, Any]:
    return {
        "id": int(video["id"]),
        "author": user_json(video["author"]),
        "play_url": video["playUrl"],
        "cover_url": video["coverUrl"],
        "favorite_count": video["favoriteCount"],
        "comment_count": video["commentCount"],
        "is_favorite": video["viewerHasLiked"],
        "title": video["title"],
    }


def comment_json(comment: Node) -> dict[str, Any]:
    return {
        "id": int(comment["id"]),
        "user": user_json(comment["author"]),
        "content": comment["content"],
        "create_date": month_day(from_datetime(comment["createdAt"])),
    }


def message_json(message: Node) -> dict[str, Any]:
    return {
        "id": int(message["id"]),
        "to_user_id": int(message["recipient"]["id"]),
        "from_user_id": int(message["sender"]["id"]),
        "content": message["content"],
        "create_time": from_datetime(message["createdAt"]),
    }


def friend_json(edge: Node, viewer_id: int | None) -> dict[str, Any]:
    """A FriendUser: the User fields plus the latest message and who sent it (1 = the caller)."""
    last = edge["lastMessage"]
    sent_by_viewer = last is not None and viewer_id is not None and int(last["sender"]["id"]) == viewer_id
    return {
        **user_json(edge["node"]),
        "message": last["content"] if last is not None else "",
        "msgType": 1 if sent_by_viewer else 0,
    }
