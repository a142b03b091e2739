"""Text limits: for each text people send, the column that stores it and the default limit.

The one table both sides read: `storage/models.py` builds the text columns from it, and `settings.py` takes
its limit defaults from it and refuses at start-up a limit the column cannot hold. It imports nothing but
the standard library (it is part of `core/`), so `settings.py` can import it without a cycle.

Widths and limits are both counted in characters: MariaDB's VARCHAR(n) in utf8mb4 holds n characters
(emoji included), and the input checks count `len(text)`. SQLite does not enforce widths, which is why a
limit wider than its column must be refused here rather than found in production. A width changed here
needs a new Alembic migration (the migration tests compare the models with the migrated database).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextLimit:
    # "table.column" holding the text as sent, or None when it is not stored (a password is hashed).
    column: str | None
    # Characters that column holds (None: no column, so nothing caps the limit).
    width: int | None
    # The limit unless a setting lowers it.
    default_max: int
    # The Settings field holding the limit, or None while nothing people send writes the text.
    setting: str | None

    @property
    def stored_width(self) -> int:
        """The width of a stored text's column (models build the column from it)."""
        if self.width is None:
            raise ValueError(f"{self.setting or 'this text'} is not stored in a column of its own")
        return self.width


USERNAME = TextLimit("users.name", 32, 32, "username_max")
PASSWORD = TextLimit(None, None, 32, "password_max")
SIGNATURE = TextLimit("users.signature", 255, 255, None)
TITLE = TextLimit("videos.title", 100, 100, "title_max")
COMMENT = TextLimit("comments.content", 500, 500, "comment_max")
MESSAGE = TextLimit("messages.content", 1000, 1000, "message_max")

TEXT_LIMITS: tuple[TextLimit, ...] = (USERNAME, PASSWORD, SIGNATURE, TITLE, COMMENT, MESSAGE)
