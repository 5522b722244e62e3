"""Input schemas of the notifications service's RPC methods. Unknown arguments are refused."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_platform.paging import PageSchema

from .preferences import CHANNELS, URGENCIES

MAX_RECIPIENTS = 1000  # per send: the registry resolves at most this many ids at once
RECIPIENT_MAX = 80  # "merchant:<uuid>" or "person:<uuid>"
STATUSES = ("pending", "failed", "sent", "dead", "batched")


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


class Period(Schema):
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["since"] and data["until"] and data["until"] <= data["since"]:
            raise ValidationError("until must be after since", "until")
