"""Pages of the registry's lists and searches: at most ``limit`` rows in key order, and an opaque
cursor to the next page carrying the last row's key and a fingerprint of the query, so a cursor
reused with other filters is refused instead of paging through something else."""

import base64
import binascii
import hashlib
import json

from alliance_platform.errors import ValidationError


def query_of(cmd):
    """The filters of a list or search command: everything but its paging."""
    return {k: v for k, v in cmd.items() if k not in ("limit", "cursor")}


def _fingerprint(query):
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:12]


def encode_cursor(last_id, query):
    """An opaque cursor: the last row's key, and a fingerprint of the query it pages through."""
    raw = json.dumps({"after": str(last_id), "q": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, query):
    """The key to continue after, or None for the first page; a cursor of another query is refused."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, fingerprint = data["after"], data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this service issued"]}) from exc
    if fingerprint != _fingerprint(query):
        raise ValidationError("invalid cursor", {"cursor": ["this cursor belongs to a different query"]})
    return after


def page(rows, limit, query, key="id"):
    """A page of at most ``limit`` rows (the query fetched one more) and the cursor to the next.
    ``key``: the column the pages are ordered by, or a function of a row for a composite order."""
    more = len(rows) > limit
    rows = rows[:limit]
    if not more:
        return rows, None
    return rows, encode_cursor(key(rows[-1]) if callable(key) else rows[-1][key], query)
