"""The hash chain, as pure functions: no Flask, no database.

Each record is a JSON object written in one canonical form (keys sorted, no spaces, UTF-8).
Its hash is ``sha256(previous record's hash + canonical JSON)``, hex; the first record of a
chain follows ``GENESIS``. Anyone can check a chain from the JSON export with these few lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64

# Stored columns repeated from the canonical JSON (for the archive's filters); verification
# checks that each still says what the hashed text says.
INDEXED_FIELDS = ("seq", "kind", "number", "community_id", "measure_id", "item_id", "category_id", "year",
                  "outcome", "decided_at", "recorded_at", "corrects")


def canonical(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def link_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredRecord:
    """A record as read back from storage: the hashed text, the two hashes and the indexed
    columns (``fields``, by the names in ``INDEXED_FIELDS``)."""

    seq: int
    canonical: str
    prev_hash: str
    hash: str
    fields: dict


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str  # a key of REASONS (the page and the CLI put it in words)


@dataclass(frozen=True)
class ChainCheck:
    count: int
    head: str  # the hash of the last record (GENESIS for an empty chain)
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(records: Iterable[StoredRecord]) -> ChainCheck:
    """Walk a chain in ``seq`` order; stop at the first record that does not hold."""
    expected_prev, count, expected_seq = GENESIS, 0, 1
    for stored in records:
        broken = _check_one(stored, expected_prev, expected_seq)
        if broken:
            return ChainCheck(count=count, head=expected_prev, first_break=ChainBreak(stored.seq, broken))
        expected_prev, count, expected_seq = stored.hash, count + 1, stored.seq + 1
    return ChainCheck(count=count, head=expected_prev, first_break=None)


def _check_one(stored: StoredRecord, expected_prev: str, expected_seq: int) -> str | None:
    if stored.seq != expected_seq:
        return "missing" if stored.seq > expected_seq else "order"
    if stored.prev_hash != expected_prev:
        return "link"
    if link_hash(stored.prev_hash, stored.canonical) != stored.hash:
        return "hash"
    try:
        body = json.loads(stored.canonical)
    except ValueError:
        return "content"
    if canonical(body) != stored.canonical:
        return "content"
    if any(body.get(name) != stored.fields.get(name) for name in INDEXED_FIELDS):
        return "fields"
    return None
