"""Keyset paging with opaque cursors, the same way in every service's list and search methods.

A page is ``{"items": [...], "next_cursor": str | None}``. The cursor encodes the sort key of the
last item returned; the next query continues strictly after it, so paging stays stable while rows
are added (no offsets that skip or repeat). Cursors are opaque to callers: base64 of JSON.
"""

import base64
import json

from marshmallow import Schema, fields, validate

from .errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_of(item_schema):
    """The result schema of a list method: ``{"items": [item, ...], "next_cursor": str | None}``."""
    name = f"PageOf{getattr(item_schema, '__name__', type(item_schema).__name__)}"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
        name=name,
    )


class PageSchema(Schema):
    """Mix into an input schema of a list method: ``cursor`` and ``limit``."""

    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


def encode_cursor(*key):
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":"), default=str).encode()).decode()


def decode_cursor(cursor, size):
    """The sort key in ``cursor`` (a list of ``size`` values), or None for the first page."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeError) as exc:
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this method returned"]}) from exc
    if not isinstance(key, list) or len(key) != size:
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this method returned"]})
    return key


def page(rows, limit, key):
    """A page from ``rows`` fetched with ``LIMIT limit + 1``; ``key(row)`` is the row's sort key."""
    items = rows[:limit]
    next_cursor = encode_cursor(*key(items[-1])) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
