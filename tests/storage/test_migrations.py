"""The migrated schema equals the models: no pending autogenerate diff, on SQLite and on MariaDB."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import String, inspect, text
from sqlalchemy.engine import Connection

from core.limits import TEXT_LIMITS
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


STORED_TEXTS = [limit for limit in TEXT_LIMITS if limit.column is not None]


def test_text_columns_of_the_models_are_as_wide_as_the_limits_table() -> None:
    assert STORED_TEXTS
    for limit in STORED_TEXTS:
        table, column = str(limit.column).split(".")
        column_type = metadata.tables[table].c[column].type
        assert isinstance(column_type, String)
        assert column_type.length == limit.width, limit


async def test_migrated_text_columns_are_as_wide_as_the_limits_table(services: Services) -> None:
    def _widths(connection: Connection) -> dict[str, int | None]:
        inspector = inspect(connection)
        return {
            f"{table}.{column['name']}": getattr(column["type"], "length", None)
            for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
        }

    async with services.db.engine.connect() as connection:
        widths = await connection.run_sync(_widths)
    assert {str(limit.column): widths.get(str(limit.column)) for limit in STORED_TEXTS} == {
        str(limit.column): limit.width for limit in STORED_TEXTS
    }
