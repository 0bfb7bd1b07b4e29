"""Relay global ids ("Type:uuid", base64) in and out."""

from __future__ import annotations

import base64
import binascii
import uuid

from services.errors import BadUserInput, NotFound


def to_global_id(type_name: str, value: uuid.UUID | str) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def global_type(global_id: str) -> str:
    """The type name inside a global id; BAD_USER_INPUT if it is not one."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _ = decoded.split(":", 1)
        return type_name
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise BadUserInput("`id` is not a valid id", field="id") from error


def from_global_id(global_id: str, type_name: str, field: str) -> uuid.UUID:
    """Decode an id argument: malformed → BAD_USER_INPUT, another type's id → NOT_FOUND."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        found_type, raw = decoded.split(":", 1)
        value = uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise BadUserInput(f"`{field}` is not a valid id", field=field) from error
    if found_type != type_name:
        raise NotFound(f"`{field}` is not the id of a {type_name}", field=field)
    return value


def type_of_id_argument(arguments: dict[str, object]) -> str:
    """The type an `id` argument names, or "" when it names none (the field answers null)."""
    try:
        return global_type(str(arguments.get("id", "")))
    except BadUserInput:
        return ""
