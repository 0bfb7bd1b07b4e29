"""Naming tampering in hash chains built in memory: the subtler cases, and batch edges.
(`tests/test_audit_chain.py` tampers with a real database through SQL.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auth.audit_chain import GENESIS, ChainRow, link, verifier, verify
from tests.test_audit_chain import record


def chain(length: int) -> list[ChainRow]:
    rows, prev = [], GENESIS
    for seq in range(1, length + 1):
        content = {k: v for k, v in record(operation=f"op{seq}").items() if k != "seq"}
        digest = link(prev, {**content, "seq": seq})
        rows.append(ChainRow(id=seq, seq=seq, prev_hash=prev, hash=digest, content=content))
        prev = digest
    return rows


def moved(row: ChainRow, **changes: Any) -> ChainRow:
    fields = {"id": row.id, "seq": row.seq, "prev_hash": row.prev_hash, "hash": row.hash,
              "content": row.content, **changes}
    return ChainRow(**fields)


def rehash_third(rows: list[ChainRow]) -> list[ChainRow]:
    content = {**rows[2].content, "actor": "mallory"}
    rows[2] = moved(rows[2], content=content, hash=link(rows[2].prev_hash, {**content, "seq": 3}))
    return rows


def delete_third_and_renumber(rows: list[ChainRow]) -> list[ChainRow]:
    return rows[:2] + [moved(row, seq=row.seq - 1) for row in rows[3:]]


def swap_ids_of_second_and_third(rows: list[ChainRow]) -> list[ChainRow]:
    return [rows[0], moved(rows[1], id=3), moved(rows[2], id=2), *rows[3:]]


@pytest.mark.parametrize(("tamper", "expected"), [
    (lambda rows: rows, []),
    (rehash_third, ["seq 3: modified: re-hashed after a change; seq 4 still links to the "
                    "original hash"]),
    (delete_third_and_renumber, ["seq 3: deleted: seq 3 (as written) missing; later records "
                                 "renumbered: seq 3 was written as 4"]),
    (swap_ids_of_second_and_third, ["seq 3: reordered: id 2 comes after id 3 of seq 2"]),
    (lambda rows: rows[1:], ["seq 1: deleted: seq 1 missing before seq 2"]),
])
def test_verify_names_subtler_tampering(
    tamper: Callable[[list[ChainRow]], list[ChainRow]], expected: list[str]
) -> None:
    assert [str(problem) for problem in verify(tamper(chain(7)))] == expected


def test_verifying_in_small_batches_finds_the_same_problems() -> None:
    """Batch edges change nothing while a tampered link stays within `context` rows."""
    rows = chain(30)
    rows[4], rows[7] = moved(rows[7], seq=5), moved(rows[4], seq=8)
    del rows[20]
    whole = verify(rows)
    checker = verifier(context=4)
    for start in range(0, len(rows), 2):
        checker.feed(rows[start:start + 2])
    assert checker.finish() == whole
    assert [str(problem) for problem in whole] == [
        "seq 5: reordered: it was written as seq 8",
        "seq 8: reordered: it was written as seq 5",
        "seq 21: deleted: seq 21 missing between seq 20 and seq 22"]


def test_tampering_wider_than_the_context_is_still_found_and_does_not_spread() -> None:
    rows = chain(30)
    rows[4], rows[14] = moved(rows[14], seq=5), moved(rows[4], seq=15)
    checker = verifier(context=3)
    checker.feed(rows)
    assert {problem.seq for problem in checker.finish()} == {5, 15}
