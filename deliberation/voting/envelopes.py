"""Sealed envelopes for secret ballots.

A secret ballot is first written beside its participation as an envelope: the ballot encrypted
(AES-GCM) with a key derived from the app's secret, which is kept outside the database. Whoever
reads the tables or a backup sees that someone's envelope exists, not what it says. The mixer
(``voting.services.mix_envelopes``) later opens envelopes in shuffled batches, in transactions of
their own, and writes them to the public ``ballots`` table, so neither transaction ids, row or
index order, nor ids link a ballot to the participation it came with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"deliberation ballot envelopes v1", hashlib.sha256).digest()


def seal(secret: str, measure_id: int, ballot: dict) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret)).encrypt(nonce, json.dumps(ballot, sort_keys=True).encode(),
                                          f"measure:{measure_id}".encode())
    return base64.b64encode(nonce + sealed).decode()


def open_sealed(secret: str, measure_id: int, sealed: str) -> dict:
    """The ballot inside; raises ``cryptography.exceptions.InvalidTag`` if it was altered or
    moved to another measure."""
    raw = base64.b64decode(sealed)
    return json.loads(AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], f"measure:{measure_id}".encode()))
