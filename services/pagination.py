"""Opaque keyset cursors and the page shape every connection is built from."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from services.errors import BadUserInput

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def check_first(first: int | None, *, default: int = 20) -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}", field="first")
    return first


def encode_cursor(kind: str, value: Any, row_id: uuid.UUID) -> str:
    raw = json.dumps([kind, None if value is None else str(value), str(row_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, parse: Callable[[str], Any]) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found_kind, value, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if found_kind != kind:
            raise ValueError(kind)
        return parse(value), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as error:
        raise BadUserInput("`after` is not a cursor of this list", field="after") from error


def make_page(
    rows: list[T], first: int, cursor_of: Callable[[T], str], *, has_previous: bool
) -> Page[T]:
    """`rows` was fetched with limit first + 1; the extra row only tells there is a next page."""
    items = rows[:first]
    return Page(
        items=items,
        cursors=[cursor_of(row) for row in items],
        has_next_page=len(rows) > first,
        has_previous_page=has_previous,
    )
