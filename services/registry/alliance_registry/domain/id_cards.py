"""ID-card numbers at rest: sealed with AES-GCM, found by a keyed hash, shown masked; the key
rotated while the registry runs.

A database dump holds only the sealed number (unreadable without the key), a keyed HMAC of it
(not reversible by hashing every possible number, as a plain hash would be: there are only about
10^10 plausible numbers) and the masked form shown to everyone but an administrator. Both keys
of a row derive from one configured secret with a key id (1–255).

*Several keys.* ``ID_CARD_KEY`` (``ID:BASE64``; a bare base64 value is key 1, as before keys had
ids) seals every number written; ``ID_CARD_KEYS_PREVIOUS`` (``ID:BASE64,...``) still open and
find. A sealed value is ``key id (1 byte) | nonce (12) | AES-GCM ciphertext and tag``: the first
byte was the constant version 1 before rotation existed, so every number sealed then names key 1.
A row's lookup digest is made with the same key as its seal, so the row is under exactly one key.

*Older and newer keys.* A previous key with a lower id than the current one is *retiring*: the
registry re-seals its numbers under the current key in the background (``timers.reseal_id_cards``).
One with a higher id is *incoming*: held to read and find what instances already switched to it
seal, never re-sealed away from — so during a rolling restart the instances still on the old key
and those on the new one do not move rows back and forth.

*Finding a number* computes its digest under every key held (a handful at most) and looks for any
of them, so a number is found, and kept unique, whichever key its row is under. A value under a
key this instance does not hold is an ``UnreadableIdCard`` (a typed error), never a crash.
"""

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .identifiers import mask_id_card

LEGACY_KEY_ID = 1  # the key of the numbers sealed before keys had ids (their first byte is 1)
_NONCE = 12
_AAD = b"id_card"


class UnreadableIdCard(Exception):
    """A sealed number this vault cannot open: its key is not held (``held`` False), or the value
    does not open with the key of that id (altered, or the key configured under the wrong id)."""

    def __init__(self, key_id, held):
        self.key_id, self.held = key_id, held
        reason = "a key this instance does not hold" if not held else "that key, but does not open with it"
        super().__init__(f"an ID-card number sealed under key {key_id}: {reason}")


@dataclass(frozen=True)
class _Key:
    key_id: int
    aead: AESGCM
    lookup: bytes


class IdCardVault:
    def __init__(self, secret, previous=""):
        current_id, master = _parse_key(secret, "ID_CARD_KEY")
        keys = {current_id: _derive(current_id, master)}
        for entry in _entries(previous):
            key_id, master = _parse_key(entry, "ID_CARD_KEYS_PREVIOUS")
            if key_id in keys:
                raise ValueError(f"ID-card key {key_id} is configured twice")
            keys[key_id] = _derive(key_id, master)
        self.current_key_id = current_id
        self._keys = keys
        self._current = keys[current_id]
        # What this process's re-sealing has met (``timers.reseal_id_cards``): the people whose
        # number it could not re-seal (left under their key, not claimed again), and the retiring
        # keys it has said are unused.
        self.left_alone = set()
        self._said_unused = set()

    @property
    def key_ids(self):
        """Every key held, the current one first."""
        return [self.current_key_id, *sorted(k for k in self._keys if k != self.current_key_id)]

    @property
    def retiring_key_ids(self):
        """Previous keys older than the current one: their numbers are re-sealed under it."""
        return sorted(k for k in self._keys if k < self.current_key_id)

    @property
    def incoming_key_ids(self):
        """Previous keys newer than the current one: held to read, never re-sealed away from."""
        return sorted(k for k in self._keys if k > self.current_key_id)

    def newly_unused(self, key_ids):
        """Those of ``key_ids`` (found unused) not reported unused before in this process."""
        new = sorted(set(key_ids) - self._said_unused)
        self._said_unused.update(new)
        return new

    def holds(self, key_id):
        return key_id in self._keys

    def seal(self, number):
        nonce = os.urandom(_NONCE)
        return bytes([self.current_key_id]) + nonce + self._current.aead.encrypt(nonce, number.encode(), _AAD)

    def unseal(self, sealed):
        """The number in ``sealed``, opened with the key it names; ``UnreadableIdCard`` otherwise."""
        sealed = bytes(sealed)
        key_id = key_id_of(sealed)
        key = self._keys.get(key_id)
        if key is None:
            raise UnreadableIdCard(key_id, held=False)
        try:
            return key.aead.decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], _AAD).decode()
        except (InvalidTag, ValueError) as exc:
            raise UnreadableIdCard(key_id, held=True) from exc

    def digest(self, number, key_id=None):
        """The lookup digest of ``number`` under key ``key_id`` (the current key by default)."""
        key = self._current if key_id is None else self._keys.get(key_id)
        if key is None:
            raise UnreadableIdCard(key_id, held=False)
        return hmac.digest(key.lookup, number.upper().encode(), hashlib.sha256)

    def digests(self, number):
        """Its digest under every key held (the current first): what finds it under any of them."""
        return [self.digest(number, key_id) for key_id in self.key_ids]

    def matches(self, number, digest, key_id):
        """Whether ``number`` is the one stored with ``digest`` under ``key_id``."""
        if number is None or digest is None:
            return number is None and digest is None
        return self.holds(key_id) and hmac.compare_digest(self.digest(number, key_id), bytes(digest))

    def columns(self, number):
        """The three stored columns for ``number`` (all None when there is none)."""
        if number is None:
            return {"id_card_sealed": None, "id_card_digest": None, "id_card_masked": None}
        return {
            "id_card_sealed": self.seal(number),
            "id_card_digest": self.digest(number),
            "id_card_masked": mask_id_card(number),
        }

    def resealed(self, sealed):
        """``sealed`` opened and sealed again under the current key: the new sealed value and digest
        (the masked form does not change)."""
        number = self.unseal(sealed)
        return {"id_card_sealed": self.seal(number), "id_card_digest": self.digest(number)}


def key_id_of(sealed):
    return bytes(sealed)[0]


def rotation_report(vault, counts):
    """Where a rotation stands, from ``counts`` ({key id: numbers sealed under it}) and the keys
    this instance holds: each key's state and numbers, how many are still to re-seal, how many it
    cannot read, and which previous keys no number uses any more (remove them from config)."""
    states = {vault.current_key_id: "current"}
    states |= dict.fromkeys(vault.retiring_key_ids, "retiring")
    states |= dict.fromkeys(vault.incoming_key_ids, "incoming")
    key_ids = sorted(set(states) | set(counts))
    keys = [{"key_id": k, "state": states.get(k, "unknown"), "numbers": counts.get(k, 0)} for k in key_ids]
    unused = [k["key_id"] for k in keys if k["state"] == "retiring" and k["numbers"] == 0]
    return {
        "current_key_id": vault.current_key_id,
        "keys": keys,
        "to_reseal": sum(k["numbers"] for k in keys if k["state"] == "retiring"),
        "unreadable": sum(k["numbers"] for k in keys if k["state"] == "unknown"),
        "done": all(k["numbers"] == 0 for k in keys if k["state"] != "current"),
        "remove_from_config": unused,
    }


def _entries(previous):
    if previous is None:
        return []
    return [entry.strip() for entry in str(previous).split(",") if entry.strip()]


def _parse_key(value, setting):
    """(key id, master secret) of ``ID:BASE64`` or a bare ``BASE64`` (key 1)."""
    text = str(value).strip()
    key_id, _, encoded = text.rpartition(":")
    if not key_id:
        key_id = str(LEGACY_KEY_ID)
    if not key_id.isdigit() or not 1 <= int(key_id) <= 255:
        raise ValueError(f"{setting}: a key id is a number from 1 to 255 (ID:BASE64), not {key_id!r}")
    return int(key_id), _decode_key(encoded, setting)


def _derive(key_id, master):
    seal_key = hmac.digest(master, b"registry id-card seal", hashlib.sha256)
    lookup_key = hmac.digest(master, b"registry id-card lookup", hashlib.sha256)
    return _Key(key_id, AESGCM(seal_key), lookup_key)


def _decode_key(secret, setting):
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{setting} must be base64 (32 random bytes: openssl rand -base64 32)") from exc
    if len(key) < 32:
        raise ValueError(f"{setting} must hold at least 32 bytes")
    return key
