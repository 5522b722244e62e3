"""The notifications service's RPC schemas: what each method takes (unknown arguments are refused)
and what it returns (the entrypoint dumps its result through the method's result schema: dates and
times as ISO strings, times of day as HH:MM, mobiles masked in what operators see).
"""

import copy

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_platform.logs import mask_text
from alliance_platform.paging import PageSchema, page_of

from .domain.audiences import REGISTRY_BATCH
from .domain.deliveries import CHANNELS, STATUSES
from .domain.preferences import URGENCIES

MAX_RECIPIENTS = REGISTRY_BATCH  # per send: the registry resolves at most this many ids at once
RECIPIENT_MAX = 80  # "merchant:<uuid>" or "person:<uuid>"

# --- inputs -----------------------------------------------------------------------------------------


class Send(Schema):
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    person_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=MAX_RECIPIENTS))
    merchant_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=MAX_RECIPIENTS))
    template = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    body = fields.String(load_default=None, validate=validate.Length(max=4000))
    category = fields.String(load_default="announcements")
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)), load_default=None, validate=validate.Length(min=1)
    )

    @validates_schema
    def _whom_and_what(self, data, **kwargs):
        errors = {}
        count = len(data["person_ids"]) + len(data["merchant_ids"])
        if count == 0:
            errors["person_ids"] = ["name at least one person or merchant"]
        elif count > MAX_RECIPIENTS:
            errors["person_ids"] = [f"at most {MAX_RECIPIENTS} recipients per send"]
        if data["template"] is not None:
            if data["title"] is not None or data["body"] is not None:
                errors["template"] = ["give a template with variables, or a title and a body, not both"]
        else:
            if data["body"] is None or not data["body"].strip():
                errors["body"] = ["the message is empty: give a body (or a template)"]
            if data["title"] is None:
                errors["title"] = ["a message without a template needs a title"]
        if errors:
            raise ValidationError(errors)


class ListInbox(PageSchema):
    recipient = fields.String(load_default=None, validate=validate.Length(max=RECIPIENT_MAX))
    unread_only = fields.Boolean(load_default=False)


class RecipientRef(Schema):
    recipient = fields.String(load_default=None, validate=validate.Length(max=RECIPIENT_MAX))


class MarkRead(Schema):
    ids = fields.List(fields.Integer(strict=True), load_default=None, validate=validate.Length(min=1, max=500))
    all = fields.Boolean(load_default=False)

    @validates_schema
    def _one_way(self, data, **kwargs):
        if (data["ids"] is None) == (not data["all"]):
            raise ValidationError("give the ids of the messages, or all=true", "ids")


class QuietHoursSchema(Schema):
    start = fields.Time(required=True)
    end = fields.Time(required=True)


class SetPreferences(Schema):
    recipient = fields.String(load_default=None, validate=validate.Length(max=RECIPIENT_MAX))
    channels = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Boolean()))
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    digest = fields.Boolean()
    email = fields.String(allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"recipient"}:
            raise ValidationError("change at least one of channels, quiet_hours, digest, email", "_schema")


class DeliveryStatus(Schema):
    delivery_id = fields.Integer(load_default=None, strict=True)
    event_id = fields.UUID(load_default=None)
    idempotency_key = fields.String(load_default=None, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        if sum(value is not None for value in data.values()) != 1:
            raise ValidationError("give exactly one of delivery_id, event_id, idempotency_key", "_schema")


class ListDeliveries(PageSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    recipient = fields.String(load_default=None, validate=validate.Length(max=RECIPIENT_MAX))
    event_id = fields.UUID(load_default=None)


class DeliveryRef(Schema):
    delivery_id = fields.Integer(required=True, strict=True)


class StatsPeriod(Schema):
    """A period of ``stats``: by default the 24 hours before ``until``, which is by default now."""

    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["since"] and data["until"] and data["until"] <= data["since"]:
            raise ValidationError("until must be after since", "until")


# --- results ----------------------------------------------------------------------------------------


class Masked(fields.String):
    """Text an operator sees with mobiles, ID-card numbers and tokens masked."""

    def _serialize(self, value, attr, obj, **kwargs):
        return mask_text(value) if value else None


class SendOut(Schema):
    """Where the deliveries of a ``send`` stand (the same answer for the same idempotency key)."""

    notification_id = fields.Integer(required=True, strict=True)
    event_id = fields.UUID(required=True)  # what delivery events and ``delivery_status`` name it by
    status = fields.String(required=True)
    recipients = fields.Integer(required=True, strict=True)
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), required=True)  # by channel


class InboxMessageOut(Schema):
    id = fields.Integer(required=True, strict=True)
    recipient = fields.String(required=True)
    category = fields.String(required=True)
    urgency = fields.String(required=True)
    source = fields.String(required=True)  # "<service>.<event_type>", "send" or "digest"
    title = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    read_at = fields.AwareDateTime(required=True, allow_none=True)


InboxPageOut = page_of(InboxMessageOut)


class UnreadOut(Schema):
    unread = fields.Integer(required=True, strict=True)


class MarkedOut(UnreadOut):
    marked = fields.Integer(required=True, strict=True)


class QuietHoursOut(Schema):
    start = fields.Time(required=True, format="%H:%M")
    end = fields.Time(required=True, format="%H:%M")
    from_trading_hours = fields.Boolean(required=True)


class PreferencesOut(Schema):
    """A recipient's preferences: their own choices beside the defaults, and what they amount to."""

    recipient = fields.String(required=True)
    default_channels = fields.List(fields.String(), required=True)  # of the recipient's role
    channels = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Boolean()), required=True
    )  # their choices: category or "*" -> channel -> on/off
    effective_channels = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    quiet_hours = fields.Nested(QuietHoursOut, required=True)
    digest = fields.Boolean(required=True)
    digest_at = fields.Time(required=True, format="%H:%M")
    email = fields.String(required=True, allow_none=True)


class DeliveryOut(Schema):
    """A delivery as operators see it."""

    id = fields.Integer(required=True, strict=True)
    notification_id = fields.Integer(required=True, strict=True)
    event_id = fields.UUID(required=True)
    source = fields.String(required=True)
    rule = fields.String(required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True)
    address = Masked(required=True, allow_none=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True, strict=True)
    in_digest = fields.Boolean(required=True)
    digest_id = fields.Integer(required=True, allow_none=True, strict=True)  # the digest that carries it
    due_at = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)
    provider_answer = Masked(required=True, allow_none=True)
    last_error = Masked(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)


DeliveryPageOut = page_of(DeliveryOut)


class AttemptOut(Schema):
    attempt = fields.Integer(required=True, strict=True)
    at = fields.AwareDateTime(required=True)
    outcome = fields.String(required=True)
    answer = Masked(required=True, allow_none=True)


class EscalationOut(Schema):
    """One step of an inbox message's escalation chain."""

    step = fields.Integer(required=True, strict=True)
    channel = fields.String(required=True)
    after_working_minutes = fields.Float(required=True)
    due_at = fields.AwareDateTime(required=True)
    status = fields.String(required=True)  # scheduled, sent, skipped_read, skipped_unreachable
    sent_delivery_id = fields.Integer(required=True, allow_none=True, strict=True)  # the delivery it made
    detail = fields.String(required=True, allow_none=True)
    decided_at = fields.AwareDateTime(required=True, allow_none=True)


class DeliveryDetailOut(DeliveryOut):
    attempts_made = fields.List(fields.Nested(AttemptOut), required=True)
    escalations = fields.List(fields.Nested(EscalationOut), required=True)  # empty unless a chain's inbox message


class NotificationOut(Schema):
    """One notification of an event (one per rule that fired) and how far its audience got."""

    id = fields.Integer(required=True, strict=True)
    source = fields.String(required=True)
    rule = fields.String(required=True)
    status = fields.String(required=True)  # resolving, resolved or failed
    recipients = fields.Integer(required=True, strict=True)
    unresolved = fields.Integer(required=True, strict=True)  # not in the registry: inbox only
    attempts = fields.Integer(required=True, strict=True)  # at resolving it with the registry
    last_error = fields.String(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    resolved_at = fields.AwareDateTime(required=True, allow_none=True)


_BY_CHANNEL_AND_STATUS = {"keys": fields.String(), "values": fields.Dict(keys=fields.String(), values=fields.Integer())}


class EventDeliveriesOut(Schema):
    event_id = fields.UUID(required=True)
    notifications = fields.List(fields.Nested(NotificationOut), required=True)
    deliveries = fields.Dict(**_BY_CHANNEL_AND_STATUS, required=True)  # channel -> status -> count


def _either(*shapes):
    """The fields of a result that is one of ``shapes``: theirs, none of them always there."""
    found = {}
    for shape in shapes:
        for name, field in shape._declared_fields.items():
            optional = copy.copy(field)
            optional.required = False
            found.setdefault(name, optional)
    return found


class DeliveryStatusOut(Schema.from_dict(_either(DeliveryDetailOut, EventDeliveriesOut))):
    """Asked by ``delivery_id``: the delivery with every attempt (``DeliveryDetailOut``). Asked by
    ``event_id`` or ``idempotency_key``: the event's notifications and deliveries
    (``EventDeliveriesOut``). The answer is all of one of the two, dumped and checked as that one."""

    @staticmethod
    def _shape(value):
        return DeliveryDetailOut() if "attempts_made" in value else EventDeliveriesOut()

    def dump(self, obj, *, many=None):
        return self._shape(obj).dump(obj)

    def validate(self, data, *, many=None, partial=None):
        return self._shape(data).validate(data)


class BacklogOut(Schema):
    due = fields.Integer(required=True, strict=True)  # due now, not sent yet
    waiting = fields.Integer(required=True, strict=True)  # due now or later
    oldest_due_seconds = fields.Float(required=True)  # how long the oldest due one has waited


class StatsOut(Schema):
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)
    deliveries = fields.Dict(**_BY_CHANNEL_AND_STATUS, required=True)  # created in the period
    backlog = fields.Dict(keys=fields.String(), values=fields.Nested(BacklogOut), required=True)  # by channel, now
    dead = fields.Integer(required=True, strict=True)
    digests_waiting = fields.Integer(required=True, strict=True)
    notifications_unresolved = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)  # by status
    inbox_unread = fields.Integer(required=True, strict=True)  # of the period's inbox messages
    channels_configured = fields.List(fields.String(), required=True)
