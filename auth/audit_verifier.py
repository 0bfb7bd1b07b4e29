"""Finding and naming tampering in a stored hash chain (built by `auth.audit_chain`).

Pure: rows in, problems out; no I/O.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # audit_chain builds on this module; the rows only need to be read here
    from auth.audit_chain import ChainRow


class Kind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, named by the chain position it concerns."""

    seq: int
    kind: Kind
    detail: str
    last: int | None = None  # a run of positions (records that moved together)

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.last is None else f"seq {self.seq}..{self.last}"
        return f"{where}: {self.kind}: {self.detail}"


class ChainVerifier:
    """Judges stored records in (seq, id) order, fed batch by batch.

    An intact chain only links each record to the previous row; a tampered one can link
    anywhere, so `context` rows are kept on each side of the row being judged. Each record's
    *origin* is the position its hash was written for: its own seq, or one found through its
    predecessor (by hash), which is how moved records are told from altered ones. Rules:

    - seq gap, or a predecessor that is gone -> **deleted** (the missing positions);
    - nothing links to a record, yet the next one links past it -> **inserted**;
    - the hash fits no origin -> **modified**; nothing links to it and the next record
      expects another hash at that position -> **modified** (re-hashed);
    - a record hashed for another position than it now holds (beyond the shift that
      insertions and deletions explain), or ids out of seq order -> **reordered**; records
      that moved together make one finding.

    `genesis` is the prev_hash of seq 1. Tampering that links further than `context` rows
    away is still found, but may be named less precisely.
    """

    _MAX_DEPTH = 64  # predecessor look-ups per origin; deeper tangles read as modified
    _MAX_RENUMBER = 16  # positions tried either way for a record whose predecessor is lost

    def __init__(self, genesis: str, *, context: int = 1000) -> None:
        self._genesis = genesis
        self._context = max(context, 1)
        self._rows: list[ChainRow] = []
        self._next = 0
        self._by_hash: dict[str, list[ChainRow]] = defaultdict(list)
        self._linked: Counter[str] = Counter()
        self._origins: dict[ChainRow, int | None] = {}
        self._problems: list[Problem] = []
        self._flagged: set[int] = set()
        self._prev: ChainRow | None = None  # the row judged last
        self._anchor = (genesis, 0)  # hash and origin of the last record on the chain
        self._shift = 0  # seq - origin explained by insertions and renumbered deletions
        self._rehashed: ChainRow | None = None
        self._run: int | None = None  # the finding of a move the previous record was part of

    def feed(self, rows: Iterable[ChainRow]) -> None:
        for row in rows:
            self._rows.append(row)
            self._by_hash[row.hash].append(row)
            self._linked[row.prev_hash] += 1
        while len(self._rows) - self._next > self._context:
            self._step()
        if self._next > 2 * self._context:
            self._forget(self._next - self._context)

    def finish(self) -> list[Problem]:
        while self._next < len(self._rows):
            self._step()
        return sorted(self._problems)

    def _step(self) -> None:
        index = self._next
        following = self._rows[index + 1] if index + 1 < len(self._rows) else None
        self._judge(self._rows[index], following)
        self._next += 1

    def _forget(self, count: int) -> None:
        for row in self._rows[:count]:
            self._by_hash[row.hash].remove(row)
            if not self._by_hash[row.hash]:
                del self._by_hash[row.hash]
            self._linked[row.prev_hash] -= 1
            if self._linked[row.prev_hash] <= 0:
                del self._linked[row.prev_hash]
            self._origins.pop(row, None)
        del self._rows[:count]
        self._next -= count

    def _report(self, seq: int, kind: Kind, detail: str) -> None:
        self._problems.append(Problem(seq, kind, detail))
        self._flagged.add(seq)

    def _judge(self, row: ChainRow, following: ChainRow | None) -> None:
        prev_seq = self._prev.seq if self._prev else 0
        run, self._run = self._run, None
        if (self._shift == 0 and row.seq == prev_seq + 1 and row.prev_hash == self._anchor[0]
                and (following is None or following.prev_hash == row.hash)
                and (self._prev is None or row.id > self._prev.id) and row.hashes_as(row.seq)):
            self._accept(row, row.seq)  # the common case: one hash, no look-ups
            return
        origin = self._origin(row)
        if self._dead_end(row, following) and following and self._links_past(row, following):
            self._report(row.seq, Kind.INSERTED,
                         f"no record links to it; seq {following.seq} links past it")
            if row.seq > prev_seq:  # it took a position of its own: later records moved up
                self._shift += 1
            self._prev = row
            return
        self._missing_before(row, origin, prev_seq)
        if origin is None:
            self._report(row.seq, Kind.MODIFIED, "its contents do not match its hash")
        elif self._dead_end(row, following) and following and not self._gap(row, following):
            self._report(row.seq, Kind.MODIFIED, f"re-hashed after a change; seq "
                         f"{following.seq} still links to the original hash")
            self._rehashed = row
        elif origin == row.seq:  # in its place; if it follows the chain, so do later records
            self._shift = 0 if row.prev_hash == self._anchor[0] else self._shift
        elif row.seq - origin != self._shift:
            self._moved(row, origin, run)
        self._check_id_order(row)
        self._accept(row, origin if origin is not None else row.seq - self._shift)

    def _moved(self, row: ChainRow, origin: int, run: int | None) -> None:
        """A record moved from `origin`; records that moved along with it (each still after
        the one before) extend that finding rather than add a line each."""
        if run is not None and row.prev_hash == self._anchor[0] and origin == self._anchor[1] + 1:
            first = self._problems[run]
            self._problems[run] = Problem(first.seq, Kind.REORDERED, f"they were written as seq "
                                          f"{origin - (row.seq - first.seq)}..{origin}", row.seq)
            self._flagged.add(row.seq)
        else:
            self._report(row.seq, Kind.REORDERED, f"it was written as seq {origin}")
        self._run = len(self._problems) - 1 if run is None else run

    def _accept(self, row: ChainRow, origin: int) -> None:
        self._origins.setdefault(row, origin)
        self._anchor = (row.hash, origin)
        self._prev = row

    def _missing_before(self, row: ChainRow, origin: int | None, prev_seq: int) -> None:
        if row.seq > prev_seq + 1:
            first, last = prev_seq + 1, row.seq - 1
            where = f"between seq {prev_seq} and" if prev_seq else "before"
            self._report(first, Kind.DELETED, f"{_span(first, last)} missing {where} seq {row.seq}")
        elif row.seq <= prev_seq:
            self._report(row.seq, Kind.INSERTED, f"seq {row.seq} appears more than once")
        elif self._dangling(row) and self._prev is not self._rehashed and origin is not None:
            first, last = self._anchor[1] + 1, origin - 1
            if last >= first:
                self._report(first, Kind.DELETED, f"{_span(first, last)} (as written) missing; "
                             f"later records renumbered: seq {row.seq} was written as {origin}")
            else:
                self._report(row.seq, Kind.INSERTED, "its prev_hash matches no record")
        if origin is not None and self._dangling(row):
            self._shift = row.seq - origin

    def _check_id_order(self, row: ChainRow) -> None:
        prev = self._prev
        if prev is not None and row.id <= prev.id and not {prev.seq, row.seq} & self._flagged:
            self._report(row.seq, Kind.REORDERED,
                         f"id {row.id} comes after id {prev.id} of seq {prev.seq}")

    def _dangling(self, row: ChainRow) -> bool:
        return row.prev_hash != self._genesis and row.prev_hash not in self._by_hash

    def _dead_end(self, row: ChainRow, following: ChainRow | None) -> bool:
        return following is not None and self._linked[row.hash] == 0

    def _links_past(self, row: ChainRow, following: ChainRow) -> bool:
        return not self._dangling(following) and following.prev_hash != row.hash

    def _gap(self, row: ChainRow, following: ChainRow) -> bool:
        """Whether records are missing between two neighbours, judged by their origins."""
        mine, theirs = self._origin(row), self._origin(following)
        return (theirs or following.seq) - (mine or row.seq) > 1

    def _origin(self, row: ChainRow, depth: int = 0) -> int | None:
        if row in self._origins:
            return self._origins[row]
        self._origins[row] = None  # a tampered chain may link in a circle
        found = next((seq for seq in self._candidates(row, depth) if row.hashes_as(seq)), None)
        self._origins[row] = found
        return found

    def _candidates(self, row: ChainRow, depth: int) -> list[int]:
        if row.prev_hash == self._genesis:
            return [row.seq, 1]
        predecessors = self._by_hash.get(row.prev_hash)
        if predecessors and depth < self._MAX_DEPTH:
            before = self._origin(predecessors[0], depth + 1)
            if before is not None:
                return [row.seq, before + 1]
        # The predecessor is gone or cannot be placed: records were removed or added nearby
        # and the rest renumbered, most likely by a few places. Nearest first.
        near = range(max(row.seq - self._MAX_RENUMBER, 1), row.seq + self._MAX_RENUMBER + 1)
        return sorted(near, key=lambda seq: abs(seq - row.seq))


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}..{last}"
