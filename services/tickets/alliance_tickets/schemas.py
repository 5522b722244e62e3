"""The RPC schemas of the tickets service: what each method takes (inputs, loaded and bounded by
the platform's ``rpc``) and what it answers (results, dumped by the entrypoint)."""

from marshmallow import Schema, ValidationError, fields, post_dump, pre_dump, validate, validates_schema

from alliance_contracts.tickets import (
    DEADLINES,
    FOLLOW_UP_OUTCOMES,
    FOLLOW_UP_REASONS,
    HANDLING_MODES,
    SUPERVISION_LIFTED_BY,
)
from alliance_platform.inputs import MAX_URL_LENGTH, DistrictId, Moment, Period
from alliance_platform.paging import PageSchema, page_of

from .domain import custody
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
    """A partner named in free text (``partner``) or as an organisation of the registry
    (``partner_id``: its liaisons are told), one of the two."""

    partner = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    partner_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    note = fields.String(load_default=None, validate=_text)

    @validates_schema
    def _one_partner(self, data, **kwargs):
        if (data.get("partner") is None) == (data.get("partner_id") is None):
            raise ValidationError("name the partner by partner or by partner_id (one of the two)", "_schema")


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


class RecordFollowUp(TicketRef):
    outcome = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_OUTCOMES))
    note = fields.String(load_default=None, validate=_text)


class SuperviseTicket(TicketRef):
    due_at = Moment(required=True)
    reason = fields.String(required=True, validate=_reason)


class MergeTicket(TicketRef):
    """Merge the duplicate ``ticket_id`` into ``into_id`` (the survivor)."""

    into_id = fields.UUID(required=True)
    reason = fields.String(load_default=None, validate=_reason)


_short = validate.Length(min=1, max=200)


class ReceiveDocument(TicketRef):
    document = fields.String(required=True, validate=_short)
    received_from = fields.String(required=True, validate=_short)
    location = fields.String(required=True, validate=_short)


class DocumentRef(Schema):
    item_id = fields.UUID(required=True)


class MoveDocument(DocumentRef):
    location = fields.String(required=True, validate=_short)


class ReturnDocument(DocumentRef):
    returned_to = fields.String(required=True, validate=_short)


class RankUnits(Period):
    """The units' ranking for tickets submitted in [since, until)."""


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
    merged_into = fields.String(
        allow_none=True, metadata={"description": "a duplicate's survivor: the demand this one was merged into"}
    )
    documents = fields.List(fields.Nested(lambda: CustodyItem()), metadata={"description": "the custody log (帮办)"})


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
    partner_id = fields.String(allow_none=True)
    partner_reply = fields.String(allow_none=True)
    first_response_due_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    escalation_level = fields.Integer(strict=True)
    reopen_count = fields.Integer(strict=True)
    children = fields.List(fields.Nested(ChildTask))
    follow_ups = fields.List(fields.Nested(lambda: FollowUp()))
    supervisions = fields.List(fields.Nested(lambda: Supervision()))
    standing = fields.Nested(lambda: Standing(), allow_none=True)

    @post_dump(pass_original=True)
    def as_the_caller_may_see_it(self, data, original, **kwargs):
        if original["sees_internals"]:
            return data
        return {name: value for name, value in data.items() if name in _MERCHANT_SEES}


_MERCHANT_SEES = frozenset(MerchantTicketView().fields)


class CustodyItem(Schema):
    """A document in the custody log of assisted handling (帮办): received, kept, handed back,
    its return confirmed by the merchant."""

    item_id = _id()
    ticket_id = fields.String(required=True)
    document = fields.String(required=True)
    received_from = fields.String(required=True)
    received_at = _moment()
    received_by = fields.String(required=True)
    location = fields.String(required=True)
    returned_at = _moment(allow_none=True)
    returned_to = _text_or_none()
    confirmed_at = _moment(allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf((custody.HELD, custody.RETURNED, custody.CONFIRMED)))

    @pre_dump
    def with_its_state(self, item, **kwargs):
        return {**item, "state": custody.state_of(item)}


class FollowUp(Schema):
    """A follow-up call (回访): why it is owed, who calls by when, what it found out."""

    follow_up_id = _id()
    ticket_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_REASONS))
    rating = fields.Integer(required=True, allow_none=True, strict=True)
    call_by_id = _text_or_none()
    due_at = _moment()
    scheduled_at = _moment()
    outcome = fields.String(required=True, allow_none=True, validate=validate.OneOf(FOLLOW_UP_OUTCOMES))
    note = _text_or_none()
    recorded_by = _text_or_none()
    recorded_at = _moment(allow_none=True)


class Supervision(Schema):
    supervision_id = _id()
    supervisor_id = fields.String(required=True)
    reason = fields.String(required=True)
    placed_at = _moment()
    due_at = _moment()
    reminders_sent = fields.Integer(required=True, strict=True)
    lifted_at = _moment(allow_none=True)
    lifted_because = fields.String(required=True, allow_none=True, validate=validate.OneOf(SUPERVISION_LIFTED_BY))


class SupervisedTicket(Schema):
    """The answer of ``supervise_ticket``: the ticket's state and its supervision."""

    ticket_id = _id()
    reference = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))
    responsible_id = _text_or_none()
    supervision = fields.Nested(Supervision, required=True)


class MergedTicket(Schema):
    """The answer of ``merge_ticket``: the duplicate, closed, and the demand it was merged into."""

    ticket_id = _id()
    reference = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))
    merged_into = fields.String(required=True)


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
    closed = fields.Integer(
        required=True, strict=True, metadata={"description": "closed, merged duplicates not counted ('merged')"}
    )
    merged = _count()
    median_hours_to_first_response = _figure()
    median_hours_to_resolution = _figure()
    response_rate = Figure(
        required=True,
        allow_none=True,
        metadata={"description": "accepted within the first-response target, of those accepted or past it"},
    )
    on_time_rate = _figure()
    average_rating = _figure()
    reopen_rate = _figure()
    refusals = _count()
    followed_up = fields.Integer(
        required=True, strict=True, metadata={"description": "tickets whose follow-up call (回访) has an outcome"}
    )
    solved = fields.Integer(
        required=True,
        strict=True,
        metadata={"description": "confirmed solved by their last follow-up call: 'closed' is not 'solved'"},
    )
    not_solved = _count()
    unreachable = _count()
    solved_rate = Figure(
        required=True, allow_none=True, metadata={"description": "solved of those followed up with an answer"}
    )
    supervised = fields.Integer(
        required=True, strict=True, metadata={"description": "tickets ever put under supervision (督办)"}
    )


def _per():
    return fields.Dict(keys=fields.String(), values=fields.Nested(Figures), required=True)


class Stats(Schema):
    """The figures units are ranked by, for tickets submitted in [since, until): in total, and per
    category, district, responsible person (``"None"``: nobody owns them yet), unit (the unit
    a joint task was sent to, else the demand's district) and district with category."""

    since = _moment()
    until = _moment()
    total = fields.Nested(Figures, required=True)
    by_category = _per()
    by_district = _per()
    by_responsible = _per()
    by_unit = _per()
    by_district_category = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Figures),
        required=True,
        metadata={"description": "per district and category, keyed '<district_id>/<category>' (the report's heat map)"},
    )


class RankedUnit(Figures):
    unit = fields.String(required=True)
    score = Figure(required=True, allow_none=True, metadata={"description": "0–1, higher is better"})
    rank = fields.Integer(required=True, allow_none=True, strict=True)


class UnitRanking(Schema):
    """The units ranked by response, on-time resolution, rating, reopened and supervised demands
    (domain/ranking.py), best first, for tickets submitted in [since, until)."""

    since = _moment()
    until = _moment()
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    units = fields.List(fields.Nested(RankedUnit), required=True)
