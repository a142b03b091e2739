"""Rewrites `schema/schema.graphql` from the code: `python -m schema.print_sdl`."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from schema import schema

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


def printed_sdl() -> str:
    return print_schema(schema) + "\n"


def main() -> None:
    SDL_PATH.write_text(printed_sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH}")


if __name__ == "__main__":
    main()
