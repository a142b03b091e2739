"""A migrated SQLite file of a test's own, opened as the app opens it, and a user row written into it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from manage import migrate
from storage.db import Database
from storage.models import User, table_of
from tests.conftest import make_settings

users = table_of(User)


@asynccontextmanager
async def sqlite_database(
    tmp_path: Path, name: str, **overrides: object
) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / name
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{path}", **overrides)
    await asyncio.to_thread(migrate, settings)
    db = Database.from_settings(settings)
    try:
        yield db, path
    finally:
        await db.dispose()


async def add_user_row(db: Database, name: str, signature: str = "") -> None:
    """User 1, written as every write is (`Database.write`)."""
    async with db.write() as session:
        await session.execute(
            users.insert().values(
                id=1,
                name=name,
                password_hash="x",
                avatar_key="",
                background_key="",
                signature=signature,
                created_at=1,
            )
        )
