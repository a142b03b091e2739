"""The committed SDL is the contract clients read; it must match the code."""

from __future__ import annotations

from schema.print_sdl import SDL_PATH, printed_sdl


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == printed_sdl(), (
        "schema/schema.graphql is stale: run `python -m schema.print_sdl` and commit the result"
    )


def test_sdl_has_the_contract_root_fields() -> None:
    sdl = printed_sdl()
    for signature in (
        "feed(first: Int = 30, before: DateTime, after: String): VideoConnection!",
        "conversation(withUserId: ID!, after: DateTime, first: Int = 100): [Message!]!",
        "deleteComment(commentId: ID!): DeleteCommentPayload!",
        "friends(first: Int = 30, after: String): FriendConnection!",
    ):
        assert signature in sdl
