"""The migrated schema equals the models: no pending autogenerate diff, on SQLite and on MariaDB."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from manage import alembic_config
from storage.models import metadata
from storage.services import Services


def _pending_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_has_no_pending_autogenerate_diff(services: Services) -> None:
    async with services.db.engine.connect() as connection:
        assert await connection.run_sync(_pending_diff) == []


async def test_database_is_at_the_head_revision(services: Services) -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    async with services.db.engine.connect() as connection:
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == head


async def test_every_table_of_the_model_exists_with_its_indexes(services: Services) -> None:
    def _indexes(connection: Connection) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {
            table: {index["name"] for index in inspector.get_indexes(table) if index["name"]}
            for table in inspector.get_table_names()
        }

    async with services.db.engine.connect() as connection:
        found = await connection.run_sync(_indexes)
    for table in metadata.sorted_tables:
        assert table.name in found
        assert {index.name for index in table.indexes} <= found[table.name]
