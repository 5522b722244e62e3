"""Input schemas of the tickets service's RPC methods."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_platform.inputs import MAX_URL_LENGTH, DistrictId
from alliance_platform.paging import PageSchema

from .lifecycle import STATES
from .sla import CATEGORIES, HANDLING_MODES

_text = validate.Length(min=1, max=4000)
_reason = validate.Length(min=1, max=1000)
_person_id = validate.Length(min=1, max=100)
# A demand's attachments: links to (or ids of) files the caller stored, a handful per demand.
MAX_ATTACHMENTS = 20


class SubmitTicket(Schema):
    merchant_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=_text)
    handling_mode = fields.String(required=True, validate=validate.OneOf(HANDLING_MODES))
    attachments = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_URL_LENGTH)),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
    )
    requester_id = fields.String(load_default=None, validate=_person_id)


class TicketRef(Schema):
    ticket_id = fields.UUID(required=True)


class FindTicket(Schema):
    ticket_id = fields.UUID(load_default=None)
    reference = fields.String(load_default=None, validate=validate.Regexp(r"^DM-\d{4}-\d{6}$"))

    @validates_schema
    def one_of(self, data, **kwargs):
        if (data["ticket_id"] is None) == (data["reference"] is None):
            raise ValidationError("give either ticket_id or reference", "ticket_id")


class AssignTicket(TicketRef):
    assignee_id = fields.String(required=True, validate=_person_id)
    reason = fields.String(required=True, validate=_reason)


class WithText(TicketRef):
    text = fields.String(required=True, validate=_text)


class WithReason(TicketRef):
    reason = fields.String(required=True, validate=_reason)


class OptionalReason(TicketRef):
    reason = fields.String(load_default=None, validate=_reason)


class ReferTicket(TicketRef):
    partner = fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default=None, validate=_text)


class ResolveTicket(TicketRef):
    resolution = fields.String(required=True, validate=_text)


class CloseTicket(TicketRef):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, validate=_text)


class AddNote(TicketRef):
    text = fields.String(required=True, validate=_text)
    visible_to_merchant = fields.Boolean(load_default=False)


class TickChecklistItem(TicketRef):
    item_id = fields.Integer(required=True, strict=True)
    done = fields.Boolean(load_default=True)


class AddChildTask(Schema):
    parent_id = fields.UUID(required=True)
    unit = fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=_text)
    handling_mode = fields.String(load_default="assisted", validate=validate.OneOf(HANDLING_MODES))
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))


class ListTickets(PageSchema):
    merchant_id = fields.UUID(load_default=None)
    assignee_id = fields.String(load_default=None, validate=_person_id)
    status = fields.String(load_default=None, validate=validate.OneOf(STATES))
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))
    district_id = DistrictId(load_default=None)
    overdue = fields.Boolean(load_default=False)
