"""`publishVideo`: a multipart upload (the GraphQL multipart request spec) through the one pipeline."""

from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from resolvers.errors import bad_input
from resolvers.publishing import publish_upload
from schema.build import video_from_row
from schema.context import Info
from schema.permissions import IsAuthenticated, viewer_id
from schema.videos import Video


@strawberry.type
class PublishingMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Publish a video file (multipart upload, at most the configured size). "
        "BAD_USER_INPUT when it is not a complete, decodable video.",
    )
    async def publish_video(self, info: Info, title: str, file: Upload) -> Video:
        # On ASGI an upload arrives as Starlette's UploadFile, from /graphql and from the REST route alike.
        if not isinstance(file, UploadFile):
            raise bad_input("file must be an uploaded file part")
        try:
            row = await publish_upload(
                info.context.services, viewer_id(info), title, file, address=info.context.client_address
            )
        finally:
            # The parsed form is not closed for us: release the spooled file as soon as it is used.
            await file.close()
        return video_from_row(row)
