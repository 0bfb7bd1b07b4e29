"""Opaque keyset cursors and the page shape every connection is built from.

A cursor carries the sort value of its row, which may be a field the reader cannot see, so it
is sealed (SM4-GCM) with a server key and bound to its list: the holder learns nothing from it,
and a changed, hand-made or other list's cursor is refused. The key is derived from the
blind-index key, which every instance must share anyway (searches depend on it), so a cursor
issued by one instance is accepted by all of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from auth import crypto
from services.errors import BadUserInput

T = TypeVar("T")
U = TypeVar("U")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    def mapped(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each item converted (a ledger row to a use case's record)."""
        return Page([convert(item) for item in self.items], self.cursors, self.has_next_page,
                    self.has_previous_page)


def check_first(first: int | None, *, default: int = 20) -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}", field="first")
    return first


_PURPOSE = "cursor/v1"


@lru_cache(maxsize=4)
def _cursor_key(secret: bytes) -> bytes:
    return crypto.derive_key(secret, _PURPOSE)


def seal_cursor(secret: bytes, kind: str, parts: list[str | None]) -> str:
    """`parts` sealed for the list `kind` (which names its ordering too)."""
    return crypto.seal_token(_cursor_key(secret), json.dumps(parts).encode(), context=kind)


def open_cursor(secret: bytes, cursor: str, kind: str, size: int) -> list[str | None]:
    """The parts of a cursor `seal_cursor` made for `kind`; BAD_USER_INPUT for anything else."""
    try:
        parts = json.loads(crypto.unseal_token(_cursor_key(secret), cursor, context=kind))
    except (crypto.CryptoError, ValueError) as error:
        raise BadUserInput("`after` is not a cursor of this list", field="after") from error
    if not isinstance(parts, list) or len(parts) != size:
        raise BadUserInput("`after` is not a cursor of this list", field="after")
    return [None if part is None else str(part) for part in parts]


def encode_cursor(secret: bytes, kind: str, value: Any, row_id: uuid.UUID) -> str:
    return seal_cursor(secret, kind, [None if value is None else str(value), str(row_id)])


def decode_cursor(
    secret: bytes, cursor: str, kind: str, parse: Callable[[str], Any]
) -> tuple[Any, uuid.UUID]:
    value, row_id = open_cursor(secret, cursor, kind, 2)
    try:
        return parse(str(value)), uuid.UUID(str(row_id))
    except (ValueError, TypeError, ArithmeticError) as error:  # sealed by us: a format change
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
