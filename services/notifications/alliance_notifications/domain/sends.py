"""``send``: a message from another internal system to named people and merchants, once per
idempotency key.

The key is the caller's: the same key of the same caller is the same message (its "event" id is
derived from both), and the same key for another message is a conflict. The message is a template
written for ``send`` (one that names no event) with its variables, or a title and a body given
as they are.
"""

import hashlib
import json
import uuid

from alliance_platform.errors import ValidationError

from .preferences import ESSENTIAL_CATEGORIES
from .templates import RenderError

RULE = SOURCE = "send"
NAMESPACE = uuid.UUID("9a3e8c3c-54d1-4bde-9a44-6f8d2d7a9c11")


def event_id(caller, idempotency_key):
    """The id a ``send`` is known by: the same for the same caller and key."""
    return uuid.uuid5(NAMESPACE, f"{caller.subject}:{idempotency_key}")


def fingerprint(cmd):
    """What the key was used for: the whole request but the key."""
    request = {k: v for k, v in cmd.items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def check_category(policy, category):
    if category not in policy.categories and category not in ESSENTIAL_CATEGORIES:
        known = [*policy.categories, *ESSENTIAL_CATEGORIES]
        raise ValidationError("unknown category", {"category": [f"one of {known}"]})


def content(templates, cmd):
    """The message in every language; an unusable template or its variables are a ``ValidationError``."""
    if cmd["template"] is not None:
        if cmd["template"] not in templates or templates.events_of(cmd["template"]):
            raise ValidationError("unknown template", {"template": [f"no template {cmd['template']!r} for send"]})
        try:
            return templates.render(cmd["template"], cmd["variables"])
        except RenderError as exc:
            raise ValidationError("the template cannot be rendered", {"variables": [str(exc)]}) from exc
    return templates.literal(cmd["title"], cmd["body"])
