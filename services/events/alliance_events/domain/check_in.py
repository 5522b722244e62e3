"""Check-in at the door, the same for an activity's registrants and a branch meeting's invitees:
each holds a code of their own (on a card or a phone, also as a QR code), an organiser checks them
in by it, and attendance is counted from who came.

Codes avoid characters people misread on a printed card (0/O, 1/I/L); one typed in lower case or
with spaces around is the same code.
"""

import hashlib
import hmac
import secrets

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def code(length=CODE_LENGTH):
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalised(typed):
    """The code as stored, from what was typed or scanned."""
    return typed.strip().upper()


def rate(came, expected):
    """Attendance as a share of those expected, to three places; None when nobody was expected."""
    return round(came / expected, 3) if expected else None


# --- offline check-in: a device's roster and its scans uploaded later -----------------------------
#
# A device holds no code: its roster has each code's HMAC under a key of the roster (one per
# activity or meeting), so a device lost at the venue gives away no ticket that could be typed at
# another door; it hashes what it scans and finds the holder. Its scans go up later in batches, each
# with a nonce of its own: a scan uploaded twice is the same scan (answered as the first time).

CHECKED_IN, ALREADY_CHECKED_IN, CONFLICT, REJECTED = SCAN_OUTCOMES = (
    "checked_in",
    "already_checked_in",
    "conflict",
    "rejected",
)
# The outcomes a scan report lists (all but the plain check-in), in the order it lists them.
REPORTED_OUTCOMES = (CONFLICT, REJECTED, ALREADY_CHECKED_IN)
# What a holder of a code is to the door: one who may be checked in, one who was, or one who may
# not (a cancelled registration, a waiter, ...: the status says which).
ADMISSIBLE, ATTENDED_ALREADY, INADMISSIBLE = "admissible", "attended", "inadmissible"


def hash_key():
    return secrets.token_hex(16)


def code_hash(key, code):
    """What a roster holds of a code: HMAC-SHA256 of the normalised code under the roster's key."""
    return hmac.new(key.encode(), normalised(code).encode(), hashlib.sha256).hexdigest()


def roster_version(entries):
    """A digest of what the roster says (holders, hashes, statuses): a device whose version is the
    current one needs no new download."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e["holder"]):
        digest.update(f"{entry['holder']}|{entry['code_hash']}|{entry['status']}\n".encode())
    return digest.hexdigest()[:16]


def judge(scan, holder, first, *, opens_at, closes_at, now, skew):
    """What one scan comes to: (outcome, reason). ``holder``: None for a code of nobody, else
    (``ADMISSIBLE``/``ATTENDED_ALREADY``/``INADMISSIBLE``, status); ``first``: the scan that checked
    the holder in, if a scan did (its door and time). A scan's time is the device's clock: not later
    than now by more than ``skew``, not before the door opened nor after the end (by ``skew``)."""
    at = scan["scanned_at"]
    if at > now + skew:
        return REJECTED, f"scanned at {at.isoformat()}: in the future (the device's clock?)"
    if at < opens_at - skew or at > closes_at + skew:
        return REJECTED, (
            f"scanned at {at.isoformat()}: outside the check-in window {opens_at.isoformat()} – {closes_at.isoformat()}"
        )
    if holder is None:
        return REJECTED, "unknown code"
    kind, status = holder
    if kind == INADMISSIBLE:
        return REJECTED, f"the registration is {status}"
    if kind == ADMISSIBLE:
        return CHECKED_IN, None
    if first is not None and first["door"] != scan["door"]:
        return CONFLICT, f"checked in at door {first['door']} at {first['scanned_at'].isoformat()}"
    where = f" at door {first['door']}" if first is not None else ""
    return ALREADY_CHECKED_IN, f"already checked in{where}"


def in_scan_order(scans):
    """Scans as they happened (the earliest checks its holder in), the batch's order keeping ties."""
    return sorted(scans, key=lambda s: s["scanned_at"])
