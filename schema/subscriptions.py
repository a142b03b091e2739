"""The `Subscription` root: `messageReceived`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from resolvers import live_chat
from resolvers.loaders import Loaders
from schema.build import message_from_row
from schema.chat import Message
from schema.context import Info
from schema.permissions import viewer_id as signed_in_viewer


@strawberry.type
class ChatSubscription:
    @strawberry.subscription(
        description="Messages sent to the viewer, and by the viewer from other sessions, as they happen."
    )
    async def message_received(self, info: Info) -> AsyncGenerator[Message, None]:
        context = info.context
        # The socket was refused without a valid token, so a viewer is always there.
        viewer_id = signed_in_viewer(info)
        services = context.services
        async with aclosing(live_chat.message_feed(services, viewer_id)) as feed:
            async for delivery in feed:
                # Each message is resolved as a request of its own: loaders cache for one request, and a
                # subscription may stay open for days. Its users, read once as it was committed, are
                # handed to them, so a delivery usually costs no query.
                context.loaders = Loaders.for_request(services.db, viewer_id)
                for user in delivery.users:
                    if user.id is not None:
                        context.loaders.user_by_id.prime(user.id, user)
                yield message_from_row(delivery.message)
