"""Tamper evidence for the audit log: an SM3 hash chain over canonical record bytes.

Pure functions, no I/O. Record number `seq` (1, 2, …) stores::

    prev_hash(seq) = hash(seq - 1)          prev_hash(1) = GENESIS
    hash(seq)      = SM3(prev_hash(seq) as 64 ASCII hex chars || canonical(record))

`canonical` is a stored contract: changing it breaks every existing hash, so it only changes
together with a migration that re-chains the log.

What the chain proves: any change, removal, insertion or reordering of records *before the
newest one* shows, because the next record's `prev_hash` pins them. It cannot prove that the
newest records are the last ones written, nor catch someone with write access who re-computes
every hash from some point on: that needs the head hash kept outside the database too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth.audit_verifier import ChainVerifier, Problem
from auth.crypto import sm3_hex

GENESIS = "0" * 64
FIELDS = frozenset({"seq", "at", "actor", "operation", "target_ids", "before", "after", "ip",
                    "request_id", "reason"})
_HASH_RE = re.compile(r"[0-9a-f]{64}")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Sorted-key, compact, UTF-8 JSON of exactly `FIELDS`; `at` as ISO-8601 UTC microseconds.

    The id is left out on purpose: it is a storage detail, the chain position is `seq`.
    """
    if set(fields) != FIELDS:
        missing, extra = sorted(FIELDS - set(fields)), sorted(set(fields) - FIELDS)
        raise ValueError(f"audit record fields: missing {missing}, unexpected {extra}")
    at = fields["at"]
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ValueError("audit record `at` must be a timezone-aware datetime")
    seq = fields["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError("audit record `seq` must be a positive integer")
    document = {**fields, "at": at.astimezone(UTC).isoformat(timespec="microseconds")}
    text = json.dumps(_json_value(document), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _json_value(value: Any) -> Any:
    # JSONB reads an integral float back as an integer (1e16 comes back 10000000000000000), so
    # both serialise as the integer; every other JSON value survives the round trip as it is.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if all(type(item) is str for item in value):  # ids, names: nothing to normalise
            return list(value)
        return [_json_value(item) for item in value]
    return value


def link(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of a record that follows `prev_hash` (64 lowercase hex chars)."""
    if not _HASH_RE.fullmatch(prev_hash):
        raise ValueError("prev_hash must be 64 lowercase hex chars")
    return sm3_hex(prev_hash.encode("ascii") + canonical(fields))


@dataclass(frozen=True, eq=False)
class ChainRow:
    """A stored record as read back: id, position and links as stored, `content` = FIELDS
    except `seq` (so the same content can be tried at another position)."""

    id: int
    seq: int
    prev_hash: str
    hash: str
    content: Mapping[str, Any]

    def hashes_as(self, seq: int) -> bool:
        """Whether the stored hash is that of this content written at position `seq`."""
        try:
            return link(self.prev_hash, {**self.content, "seq": seq}) == self.hash
        except ValueError:  # a malformed stored value is itself a change
            return False


def verifier(context: int = 1000) -> ChainVerifier:
    """A verifier of chains written by `link`, fed in (seq, id) order batch by batch; it keeps
    `context` rows on each side of the one it judges (see ChainVerifier)."""
    return ChainVerifier(GENESIS, context=context)


def verify(rows: Iterable[ChainRow]) -> list[Problem]:
    """Every problem in a whole chain given in (seq, id) order; [] when intact."""
    checker = verifier()
    checker.feed(rows)
    return checker.finish()
