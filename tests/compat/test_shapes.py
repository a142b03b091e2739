"""GraphQL results reshaped into douyin JSON: names, number types and times as the APK expects."""

from __future__ import annotations

from typing import Any

from compat.shapes import comment_json, friend_json, message_json, user_json, video_json
from tests.support.rest import COMMENT_FIELDS, MESSAGE_FIELDS, USER_FIELDS, VIDEO_FIELDS, check_fields

USER: dict[str, Any] = {
    "id": "7",
    "name": "alice",
    "followCount": 1,
    "followerCount": 2,
    "viewerIsFollowing": True,
    "avatar": "http://h/assets/avatar.jpg",
    "backgroundImage": "http://h/assets/background.jpg",
    "signature": "hi",
    "totalFavorited": 3,
    "workCount": 4,
    "favoriteCount": 5,
}


def test_user_has_all_eleven_fields_with_numeric_ids() -> None:
    user = user_json(USER)
    check_fields(user, USER_FIELDS)
    assert user["id"] == 7
    assert user["is_follow"] is True
    assert user["total_favorited"] == 3
    assert user["background_image"] == "http://h/assets/background.jpg"


def test_video_fields() -> None:
    node = {
        "id": "9",
        "author": USER,
        "playUrl": "http://h/media/v.mp4",
        "coverUrl": "http://h/media/c.jpg",
        "favoriteCount": 1,
        "commentCount": 2,
        "viewerHasLiked": False,
        "title": "Bear",
        "createdAt": "2023-09-01T01:46:56.123Z",
    }
    video = video_json(node)
    check_fields(video, VIDEO_FIELDS)
    assert (video["id"], video["is_favorite"], video["title"]) == (9, False, "Bear")


def test_comment_create_date_is_month_day_in_utc() -> None:
    node = {"id": "3", "author": USER, "content": "测试评论", "createdAt": "2023-05-01T23:59:59.999Z"}
    comment = comment_json(node)
    check_fields(comment, COMMENT_FIELDS)
    assert comment["create_date"] == "05-01"
    assert comment["user"]["name"] == "alice"


def test_message_times_are_epoch_ms_and_directions_are_ids() -> None:
    node = {
        "id": "11",
        "content": "Send to UserB",
        "createdAt": "2023-09-01T01:46:56.123Z",
        "sender": {"id": "1"},
        "recipient": {"id": "2"},
    }
    message = message_json(node)
    check_fields(message, MESSAGE_FIELDS)
    assert message == {
        "id": 11,
        "to_user_id": 2,
        "from_user_id": 1,
        "content": "Send to UserB",
        "create_time": 1_693_532_816_123,
    }


def test_friend_message_type_says_who_sent_the_latest_message() -> None:
    sent = {"node": USER, "lastMessage": {"content": "hi", "sender": {"id": "1"}}}
    received = {"node": USER, "lastMessage": {"content": "yo", "sender": {"id": "7"}}}
    silent = {"node": USER, "lastMessage": None}
    assert (friend_json(sent, 1)["message"], friend_json(sent, 1)["msgType"]) == ("hi", 1)
    assert (friend_json(received, 1)["message"], friend_json(received, 1)["msgType"]) == ("yo", 0)
    assert (friend_json(silent, 1)["message"], friend_json(silent, 1)["msgType"]) == ("", 0)
    assert friend_json(sent, None)["msgType"] == 0
    check_fields(friend_json(sent, 1), {**USER_FIELDS, "message": str, "msgType": int})
