"""The RPC schemas of the tickets service: what each method takes (inputs, loaded and bounded by
the platform's ``rpc``) and what it answers (results, dumped by the entrypoint)."""

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from alliance_contracts.tickets import DEADLINES, HANDLING_MODES
from alliance_platform.inputs import MAX_URL_LENGTH, DistrictId, Moment
from alliance_platform.paging import PageSchema, page_of

from .domain.deadlines import STANDINGS
from .domain.lifecycle import STATES
from .domain.sla import CATEGORIES

# --- inputs ----------------------------------------------------------------------------------

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
    # Submitted in [submitted_from, submitted_until] (both included, either may be left out).
    submitted_from = Moment(load_default=None)
    submitted_until = Moment(load_default=None)

    @validates_schema
    def ordered(self, data, **kwargs):
        if (
            data.get("submitted_from")
            and data.get("submitted_until")
            and data["submitted_until"] < data["submitted_from"]
        ):
            raise ValidationError("submitted_until is before submitted_from", "submitted_until")


# --- results ---------------------------------------------------------------------------------
# What each method answers: the rpc entrypoint dumps its return value through one of these.


def _id(**kwargs):
    return fields.String(required=True, attribute="id", **kwargs)


def _text_or_none():
    return fields.String(required=True, allow_none=True)


def _moment(**kwargs):
    return fields.AwareDateTime(required=True, **kwargs)


class TicketState(Schema):
    """The answer of a command: where the ticket stands now."""

    ticket_id = _id()
    reference = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))
    responsible_id = _text_or_none()
    resolution_due_at = _moment()


class ChecklistItem(Schema):
    id = fields.Integer(required=True, strict=True)
    item = fields.String(required=True)
    documents = fields.List(fields.String(), required=True)
    done = fields.Boolean(required=True)


class TicketChecklist(TicketState):
    """The answer of ``tick_checklist_item``: the ticket's state and its whole checklist."""

    checklist = fields.List(fields.Nested(ChecklistItem), required=True)


class Person(Schema):
    person_id = fields.String(required=True)
    name = _text_or_none()  # None: the registry has not told this service of them yet


class ChildTask(Schema):
    ticket_id = _id()
    reference = fields.String(required=True)
    unit = _text_or_none()
    status = fields.String(required=True, validate=validate.OneOf(STATES))


class _TicketHead(Schema):
    """What names a ticket wherever it is shown: a list, the merchant's view, the handlers' view."""

    ticket_id = _id()
    reference = fields.String(required=True)
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    category = fields.String(required=True)
    handling_mode = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))


class MerchantTicketView(_TicketHead):
    """A ticket as its merchant sees it: the demand, its progress and the promise made."""

    description = fields.String(required=True)
    attachments = fields.List(fields.String(), required=True)
    responsible = fields.Nested(Person, required=True, allow_none=True)
    promised_by = _moment(attribute="resolution_due_at")
    paused_because = _text_or_none()  # the question the ticket waits on, while it waits
    submitted_at = _moment()
    resolved_at = _moment(allow_none=True)
    resolution = _text_or_none()
    rating = fields.Integer(required=True, allow_none=True, strict=True)
    parent_id = _text_or_none()


class TicketView(MerchantTicketView):
    """The answer of ``get_ticket``: the ticket as its caller may see it. A merchant gets the
    fields of ``MerchantTicketView``; its handlers also these, how the ticket was routed and how
    its handling goes."""

    style = fields.String()
    team = fields.String(allow_none=True)
    proposed_id = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistItem))
    partner = fields.String(allow_none=True)
    partner_reply = fields.String(allow_none=True)
    first_response_due_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    escalation_level = fields.Integer(strict=True)
    reopen_count = fields.Integer(strict=True)
    children = fields.List(fields.Nested(ChildTask))
    standing = fields.Nested(lambda: Standing(), allow_none=True)

    @post_dump(pass_original=True)
    def as_the_caller_may_see_it(self, data, original, **kwargs):
        if original["sees_internals"]:
            return data
        return {name: value for name, value in data.items() if name in _MERCHANT_SEES}


_MERCHANT_SEES = frozenset(MerchantTicketView().fields)


class TimelineEntry(Schema):
    at = _moment()
    actor = _text_or_none()
    kind = fields.String(required=True)
    from_status = _text_or_none()
    to_status = _text_or_none()
    text = _text_or_none()
    visible_to_merchant = fields.Boolean(required=True)
    data = fields.Dict(required=True)


class Standing(Schema):
    """Where an open ticket stands against the deadline that counts now, in working time (the
    service centre's calendar): what a work queue marks. None once no deadline runs."""

    target = fields.String(required=True, validate=validate.OneOf(DEADLINES))
    due_at = _moment()
    working_minutes_left = fields.Integer(
        required=True, strict=True, metadata={"description": "negative: overdue by that many working minutes"}
    )
    state = fields.String(required=True, validate=validate.OneOf(STANDINGS))


def _standing():
    return fields.Nested(Standing, required=True, allow_none=True)


class ListedTicket(_TicketHead):
    """A ticket in a list: enough to sort, filter and open it."""

    style = fields.String(required=True)
    team = _text_or_none()
    proposed_id = _text_or_none()
    responsible_id = _text_or_none()
    parent_id = _text_or_none()
    submitted_at = _moment()
    first_response_due_at = _moment()
    resolution_due_at = _moment()
    sla_paused_at = _moment(allow_none=True)
    resolved_at = _moment(allow_none=True)
    closed_at = _moment(allow_none=True)
    rating = fields.Integer(required=True, allow_none=True, strict=True)
    escalation_level = fields.Integer(required=True, strict=True)
    standing = _standing()


TicketPage = page_of(ListedTicket)


class Figure(fields.Float):
    """A measured figure (a median in hours, a rate, an average), to three decimals; None when
    there was nothing to measure."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else round(float(value), 3)


def _count():
    return fields.Integer(required=True, strict=True)


def _figure():
    return Figure(required=True, allow_none=True)


class Figures(Schema):
    submitted = _count()
    resolved = _count()
    closed = _count()
    median_hours_to_first_response = _figure()
    median_hours_to_resolution = _figure()
    on_time_rate = _figure()
    average_rating = _figure()
    reopen_rate = _figure()
    refusals = _count()


def _per():
    return fields.Dict(keys=fields.String(), values=fields.Nested(Figures), required=True)


class Stats(Schema):
    """The figures units are ranked by, for tickets submitted in [since, until): in total, and per
    category, district and responsible person (``"None"``: nobody owns them yet)."""

    since = _moment()
    until = _moment()
    total = fields.Nested(Figures, required=True)
    by_category = _per()
    by_district = _per()
    by_responsible = _per()
