"""ID-card numbers at rest: sealed with AES-GCM, found by a keyed hash, shown masked.

A database dump holds only the sealed number (unreadable without the key), a keyed HMAC of it
(not reversible by hashing every possible number, as a plain hash would be: there are only about
10^10 plausible numbers) and the masked form shown to everyone but an administrator. Both keys
derive from one configured secret, ``ID_CARD_KEY``. The sealed value starts with a key version
byte, so a future key rotation can tell old seals from new ones.
"""

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .identifiers import mask_id_card

KEY_VERSION = 1
_NONCE = 12


class IdCardVault:
    def __init__(self, secret):
        master = _decode_key(secret)
        self._seal_key = hmac.digest(master, b"registry id-card seal", hashlib.sha256)
        self._lookup_key = hmac.digest(master, b"registry id-card lookup", hashlib.sha256)
        self._aead = AESGCM(self._seal_key)

    def seal(self, number):
        nonce = os.urandom(_NONCE)
        return bytes([KEY_VERSION]) + nonce + self._aead.encrypt(nonce, number.encode(), b"id_card")

    def unseal(self, sealed):
        sealed = bytes(sealed)
        if sealed[0] != KEY_VERSION:
            raise ValueError(f"sealed with key version {sealed[0]}, this service holds {KEY_VERSION}")
        return self._aead.decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], b"id_card").decode()

    def digest(self, number):
        return hmac.digest(self._lookup_key, number.upper().encode(), hashlib.sha256)

    def columns(self, number):
        """The three stored columns for ``number`` (all None when there is none)."""
        if number is None:
            return {"id_card_sealed": None, "id_card_digest": None, "id_card_masked": None}
        return {
            "id_card_sealed": self.seal(number),
            "id_card_digest": self.digest(number),
            "id_card_masked": mask_id_card(number),
        }


def _decode_key(secret):
    try:
        key = base64.b64decode(str(secret), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("ID_CARD_KEY must be base64 (32 random bytes: openssl rand -base64 32)") from exc
    if len(key) < 32:
        raise ValueError("ID_CARD_KEY must hold at least 32 bytes")
    return key
