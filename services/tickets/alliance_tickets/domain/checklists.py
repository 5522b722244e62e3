"""Checklist-style handling (清单式): the steps and documents a category's demand goes through,
configured per category (``CHECKLISTS``), copied onto the ticket when it is routed that way and
ticked off there one by one."""

from alliance_platform.errors import ValidationError


def new_checklist(steps):
    """The ticket's checklist from the configured ``steps`` (``[{"item", "documents"}]``), numbered from 1."""
    return [
        {"id": n, "item": step["item"], "documents": step.get("documents", []), "done": False}
        for n, step in enumerate(steps, 1)
    ]


def tick(items, item_id, done, reference):
    """``items`` with item ``item_id`` marked ``done`` (or not), and that item's text."""
    if not any(item["id"] == item_id for item in items):
        raise ValidationError("unknown checklist item", {"item_id": [f"{reference} has no item {item_id}"]})
    ticked = [{**item, "done": done} if item["id"] == item_id else item for item in items]
    return ticked, next(item["item"] for item in ticked if item["id"] == item_id)
