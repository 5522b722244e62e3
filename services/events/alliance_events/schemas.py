"""The events service's RPC schemas: what each method takes (inputs, loaded before the use case
runs) and what it returns (results, through which its answer is dumped)."""

import io

import segno
from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from alliance_contracts.events import (
    ATTENDANCE,
    AUDIENCES,
    EVALUATION_KINDS,
    MEETING_KINDS,
    MEETING_STATUSES,
    REGISTRATION_STATUSES,
    STAR_PARTY_MEMBER_MERCHANT,
    Winner,
)
from alliance_platform.identity import ROLES
from alliance_platform.inputs import DISTRICT_IDS, DistrictId, Moment
from alliance_platform.paging import PageSchema, page_of

from .domain.activity import TYPES
from .domain.check_in import REPORTED_OUTCOMES, SCAN_OUTCOMES
from .domain.lifecycle import STATES
from .domain.meetings import MAX_INVITEES

_title = validate.Length(min=1, max=200)
_text = validate.Length(min=1, max=4000)
_reason = validate.Length(min=1, max=1000)
_name = validate.Length(min=1, max=100)  # an organiser's or a partner's name or id
MAX_ORGANISERS = 10
MAX_PARTNERS = 20
MAX_THEME_TAGS = 10
MAX_CAPACITY = 100_000


def _partners(**kwargs):
    return fields.List(fields.String(validate=_name), validate=validate.Length(max=MAX_PARTNERS), **kwargs)


def _theme_tags(**kwargs):
    tag = fields.String(validate=validate.Length(min=1, max=40))
    return fields.List(tag, validate=validate.Length(max=MAX_THEME_TAGS), **kwargs)


def _quotas(**kwargs):
    """Seats reserved per district: at most one entry per district."""
    seats = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    return fields.Dict(keys=DistrictId(), values=seats, **kwargs)


class Audience(Schema):
    kinds = fields.List(
        fields.String(validate=validate.OneOf(AUDIENCES)),
        required=True,
        validate=validate.Length(min=1, max=len(AUDIENCES)),
    )
    districts = fields.List(DistrictId(), load_default=list, validate=validate.Length(max=len(DISTRICT_IDS)))


class EvaluationSettings(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(EVALUATION_KINDS))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2020, max=2100))
    winners = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    stars = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    voter_roles = fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    voting_opens_at = Moment(required=True)
    voting_closes_at = Moment(required=True)

    @validates_schema
    def consistent(self, data, **kwargs):
        if data["voting_closes_at"] <= data["voting_opens_at"]:
            raise ValidationError("must be after voting_opens_at", "voting_closes_at")
        if (data["kind"] == STAR_PARTY_MEMBER_MERCHANT) != (data["stars"] is not None):
            raise ValidationError("stars are given for, and only for, star Party-member merchants", "stars")


class ActivityFields(Schema):
    title = fields.String(required=True, validate=_title)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    description = fields.String(required=True, validate=_text)
    organisers = fields.List(
        fields.String(validate=_name), required=True, validate=validate.Length(min=1, max=MAX_ORGANISERS)
    )
    partners = _partners(load_default=list)
    venue = fields.String(required=True, validate=_title)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    registration_opens_at = Moment(required=True)
    registration_closes_at = Moment(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    quotas = _quotas(load_default=dict)
    audience = fields.Nested(Audience, required=True)
    theme_tags = _theme_tags(load_default=list)
    evaluation = fields.Nested(EvaluationSettings, load_default=None)


class CreateSeries(ActivityFields):
    """The first occurrence's fields, the weekdays (0 = Monday) it recurs on and its last day;
    at most ``domain.series.MAX_SERIES_DATES`` dates."""

    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)),
        required=True,
        validate=validate.Length(min=1, max=7),
    )
    until = fields.Date(required=True)


class ActivityRef(Schema):
    activity_id = fields.UUID(required=True)


class UpdateActivity(ActivityRef):
    title = fields.String(validate=_title)
    description = fields.String(validate=_text)
    venue = fields.String(validate=_title)
    starts_at = Moment()
    ends_at = Moment()
    registration_opens_at = Moment()
    registration_closes_at = Moment()
    capacity = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    quotas = _quotas()
    partners = _partners()
    theme_tags = _theme_tags()

    @validates_schema
    def something(self, data, **kwargs):
        if len(data) == 1:
            raise ValidationError("nothing to change", "activity_id")


class PublishActivity(ActivityRef):
    override_reason = fields.String(load_default=None, validate=_reason)


class CancelActivity(ActivityRef):
    reason = fields.String(required=True, validate=_reason)


class ListActivities(PageSchema):
    district_id = DistrictId(load_default=None)
    type = fields.String(load_default=None, validate=validate.OneOf(TYPES))
    status = fields.String(load_default=None, validate=validate.OneOf(STATES))
    starts_after = fields.AwareDateTime(load_default=None)
    starts_before = fields.AwareDateTime(load_default=None)
    open_for_registration = fields.Boolean(load_default=False)


class Register(ActivityRef):
    person_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    merchant_id = fields.UUID(load_default=None)
    district_id = DistrictId(load_default=None)
    child_name = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    child_age = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=3, max=16))

    @validates_schema
    def child(self, data, **kwargs):
        if (data["child_name"] is None) != (data["child_age"] is None):
            raise ValidationError("a child's name and age go together", "child_age")


class RegistrationRef(Schema):
    registration_id = fields.UUID(required=True)


class ListRegistrations(Schema):
    activity_id = fields.UUID(load_default=None)
    # A shop's registrations (its own for a merchant; those of the activities one organises, else).
    merchant_id = fields.UUID(load_default=None)


def _check_in_code():
    """A check-in code as typed or scanned at the door (an activity's or a meeting's)."""
    return fields.String(required=True, validate=validate.Length(min=4, max=20))


class CheckIn(ActivityRef):
    code = _check_in_code()


class Nominate(ActivityRef):
    merchant_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=_reason)


class Vote(ActivityRef):
    merchant_id = fields.UUID(required=True)


# --- branch life (三会一课) ---

MAX_AGENDA_ITEMS = 20
MAX_DECISIONS = 50
_person_id = validate.Length(min=1, max=100)
_branch_id = validate.Length(min=1, max=100)  # an organisation's id in the register (as long as its own bound)


class PlanMeeting(Schema):
    branch_id = fields.String(required=True, validate=_branch_id)
    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    title = fields.String(required=True, validate=_title)
    place = fields.String(required=True, validate=_title)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    agenda = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        required=True,
        validate=validate.Length(min=1, max=MAX_AGENDA_ITEMS),
    )
    # Those invited, if not the branch's members (a Party lecture open to another branch's, say).
    invitees = fields.List(
        fields.String(validate=_person_id), load_default=None, validate=validate.Length(min=1, max=MAX_INVITEES)
    )


class MeetingRef(Schema):
    meeting_id = fields.UUID(required=True)


class MeetingCheckIn(MeetingRef):
    code = _check_in_code()


class ExcuseAbsence(MeetingRef):
    person_id = fields.String(load_default=None, validate=_person_id)  # the caller, if not named
    reason = fields.String(required=True, validate=_reason)


class RecordMinutes(MeetingRef):
    minutes = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    decisions = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)),
        load_default=list,
        validate=validate.Length(max=MAX_DECISIONS),
    )


class CancelMeeting(MeetingRef):
    reason = fields.String(required=True, validate=_reason)


class ListMeetings(PageSchema):
    branch_id = fields.String(load_default=None, validate=_branch_id)  # one the register has, else a ValidationError
    kind = fields.String(load_default=None, validate=validate.OneOf(MEETING_KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(MEETING_STATUSES))
    starts_after = fields.AwareDateTime(load_default=None)
    starts_before = fields.AwareDateTime(load_default=None)


class BranchComplianceQuery(Schema):
    branch_id = fields.String(load_default=None, validate=_branch_id)  # one the register has, else a ValidationError


# --- results ---------------------------------------------------------------------------------------


class AudienceOut(Schema):
    kinds = fields.List(fields.String(validate=validate.OneOf(AUDIENCES)), required=True)
    districts = fields.List(fields.String(), required=True)


class EvaluationOut(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(EVALUATION_KINDS))
    year = fields.Integer(required=True)
    winners = fields.Integer(required=True)
    stars = fields.Integer(required=True, allow_none=True)
    voter_roles = fields.List(fields.String(), required=True)
    voting_opens_at = fields.AwareDateTime(required=True)
    voting_closes_at = fields.AwareDateTime(required=True)
    closed = fields.Boolean(required=True)


class ActivityOut(Schema):
    """An activity; ``evaluation`` only for an evaluation (评选)."""

    activity_id = fields.UUID(required=True, attribute="id")
    series_id = fields.UUID(required=True, allow_none=True)
    title = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    description = fields.String(required=True)
    organisers = fields.List(fields.String(), required=True)
    partners = fields.List(fields.String(), required=True)
    venue = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    registration_opens_at = fields.AwareDateTime(required=True)
    registration_closes_at = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True)
    quotas = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    audience = fields.Nested(AudienceOut, required=True)
    theme_tags = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))
    cancel_reason = fields.String(required=True, allow_none=True)
    clash_override = fields.String(required=True, allow_none=True)
    evaluation = fields.Nested(EvaluationOut)

    @pre_dump
    def _evaluation(self, activity, **kwargs):
        if not activity.get("evaluation_kind"):
            return activity
        evaluation = {
            "kind": activity["evaluation_kind"],
            "year": activity["evaluation_year"],
            "winners": activity["evaluation_winners"],
            "stars": activity["evaluation_stars"],
            "voter_roles": list(activity["voter_roles"] or []),
            "voting_opens_at": activity["voting_opens_at"],
            "voting_closes_at": activity["voting_closes_at"],
            "closed": activity["evaluation_closed_at"] is not None,
        }
        return {**activity, "evaluation": evaluation}


class ActivitySeatsOut(ActivityOut):
    """An activity with its seats taken, the seats held for waiting-list offers and the length of
    its waiting list (those offered a seat aside)."""

    confirmed = fields.Integer(required=True, attribute="confirmed_count")
    waitlisted = fields.Integer(required=True, attribute="waiting_count")
    offered = fields.Integer(required=True, attribute="offered_count")


class CompletedActivityOut(ActivityOut):
    """A completed activity, who came and who did not. ``points_per_person``: deprecated, 0 — points
    are the registry's ledger's (its rules: attended_activity, no_show)."""

    attended = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    points_per_person = fields.Integer(required=True)


ActivityPageOut = page_of(ActivityOut)


class SeriesOut(Schema):
    series_id = fields.UUID(required=True)
    activities = fields.List(fields.Nested(ActivityOut), required=True)


class OfferOut(Schema):
    """A seat offered to a waiting registration, held for it until ``expires_at``."""

    offered_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)


class _Registration(Schema):
    """A registration as its registrant and organisers see it. A waiting registration's ``place``
    (and ``position``, the same) is where it stands now: 1 is the next to get a seat. One offered a
    seat is ``waitlisted`` with its ``offer`` (``accept_offer`` before ``expires_at``), without a place."""

    registration_id = fields.UUID(required=True, attribute="id")
    activity_id = fields.UUID(required=True)
    title = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    venue = fields.String(required=True)
    person_id = fields.String(required=True)
    merchant_id = fields.UUID(required=True, allow_none=True)
    district_id = fields.String(required=True)
    child_name = fields.String(required=True, allow_none=True)
    child_age = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(REGISTRATION_STATUSES))
    position = fields.Integer(required=True, allow_none=True)
    place = fields.Integer(required=True, allow_none=True)
    offer = fields.Nested(OfferOut, required=True, allow_none=True)
    registered_at = fields.AwareDateTime(required=True)


class RegisteredOut(_Registration):
    """A registration just made: its check-in code if it got a seat, else None (it waits)."""

    check_in_code = fields.String(required=True, allow_none=True)


class RegistrationOut(_Registration):
    """A registration; its check-in code and the code as a QR code (SVG, to print on a card or show
    on a phone) only for its registrant while it holds a seat."""

    check_in_code = fields.String()
    check_in_qr_svg = fields.String()

    @pre_dump
    def _qr_code(self, registration, **kwargs):
        if "check_in_code" not in registration:
            return registration
        return {**registration, "check_in_qr_svg": qr_svg(registration["check_in_code"])}


def qr_svg(code):
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return buffer.getvalue().decode()


class CancelledRegistrationOut(Schema):
    """The cancelled registration, and the waiting one its seat is offered to (or None).
    ``promoted`` is always None since seats are offered rather than given."""

    cancelled = fields.Nested(RegistrationOut, required=True)
    promoted = fields.Nested(RegistrationOut, required=True, allow_none=True)
    offered = fields.Nested(RegistrationOut, required=True, allow_none=True)


class AttendanceOut(Schema):
    activity_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATES))
    confirmed = fields.Integer(required=True)
    attended = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    attendance_rate = fields.Float(required=True, allow_none=True)


class NominationOut(Schema):
    activity_id = fields.UUID(required=True)
    merchant_id = fields.UUID(required=True)


class VoteOut(NominationOut):
    voted = fields.Boolean(required=True)


class TallyOut(Schema):
    merchant_id = fields.UUID(required=True)
    votes = fields.Integer(required=True)


class EvaluationResultOut(Schema):
    """The winners (as ``evaluation_closed`` names them) and every nominee's votes, most first."""

    activity_id = fields.UUID(required=True)
    winners = fields.List(fields.Nested(Winner), required=True)
    tally = fields.List(fields.Nested(TallyOut), required=True)


class ParticipantOut(Schema):
    person_id = fields.String(required=True)
    points = fields.Integer(required=True)
    activities = fields.Integer(required=True)


class MerchantPointsOut(Schema):
    merchant_id = fields.UUID(required=True)
    points = fields.Integer(required=True)


class StatsOut(Schema):
    """The figures of a period: activities by type and by organising district, registrations by
    outcome, attendance; the top ten participants and merchants by activities attended.
    ``points_awarded`` and the tops' ``points``: deprecated, 0 (points are the registry's ledger's)."""

    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)
    activities_by_type = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    activities_by_district = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    registrations = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    attended = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    attendance_rate = fields.Float(required=True, allow_none=True)
    points_awarded = fields.Integer(required=True)
    top_participants = fields.List(fields.Nested(ParticipantOut), required=True)
    top_merchants = fields.List(fields.Nested(MerchantPointsOut), required=True)


# --- branch life (三会一课) ---


class AttendeeOut(Schema):
    """An invitee: ``invited`` until checked in (``attended``) or excused (with the reason);
    ``absent`` once the meeting was held without either."""

    meeting_id = fields.UUID(required=True)
    person_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE))
    checked_in_at = fields.AwareDateTime(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class MyAttendanceOut(AttendeeOut):
    """The caller's own invitation: the check-in code (and as a QR code) while not yet answered."""

    check_in_code = fields.String(required=True, allow_none=True)
    check_in_qr_svg = fields.String(allow_none=True)

    @pre_dump
    def _qr_code(self, mine, **kwargs):
        return {**mine, "check_in_qr_svg": qr_svg(mine["check_in_code"]) if mine["check_in_code"] else None}


class MeetingAttendanceOut(Schema):
    invited = fields.Integer(required=True)
    attended = fields.Integer(required=True)
    excused = fields.Integer(required=True)
    absent = fields.Integer(required=True)
    attendance_rate = fields.Float(required=True, allow_none=True)  # of those invited and not excused


class MeetingOut(Schema):
    """A branch meeting: planned, held (attendance closed) or cancelled; its minutes once recorded.
    ``attendees`` only for those who keep the branch's meetings (else None); ``my_attendance``, the
    caller's own invitation (None if not invited)."""

    meeting_id = fields.UUID(required=True, attribute="id")
    branch_id = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    title = fields.String(required=True)
    place = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    agenda = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(MEETING_STATUSES))
    planned_by = fields.String(required=True)
    planned_at = fields.AwareDateTime(required=True)
    held_at = fields.AwareDateTime(required=True, allow_none=True)
    minutes = fields.String(required=True, allow_none=True)
    decisions = fields.List(fields.String(), required=True, allow_none=True)
    minutes_recorded_at = fields.AwareDateTime(required=True, allow_none=True)
    cancel_reason = fields.String(required=True, allow_none=True)
    attendance = fields.Nested(MeetingAttendanceOut, required=True)
    attendees = fields.List(fields.Nested(AttendeeOut), required=True, allow_none=True)
    my_attendance = fields.Nested(MyAttendanceOut, required=True, allow_none=True)


MeetingPageOut = page_of(MeetingOut)


class KindStandingOut(Schema):
    """A branch against the rhythm of one kind: the day of its last meeting held (None: never), the
    last day the next is due by, whether that passed, and then the period it missed last."""

    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    rhythm = fields.String(required=True)
    last_held_on = fields.Date(required=True, allow_none=True)
    next_due_on = fields.Date(required=True)
    overdue = fields.Boolean(required=True)
    missed_period = fields.Date(required=True, allow_none=True)


class BranchStandingOut(Schema):
    branch_id = fields.String(required=True)
    branch_name = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)
    kinds = fields.List(fields.Nested(KindStandingOut), required=True)


class BranchComplianceOut(Schema):
    """Each branch against the configured rhythm (kind -> monthly, quarterly...) on ``as_of``
    (the local date), and the branches overdue with any kind."""

    as_of = fields.Date(required=True)
    rhythm = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    branches = fields.List(fields.Nested(BranchStandingOut), required=True)
    overdue_branches = fields.List(fields.String(), required=True)


# --- offline check-in (a device's roster, its scans uploaded later) ---

MAX_SCANS_PER_UPLOAD = 500
_device = validate.Length(min=1, max=64)  # a check-in device's id (the staff's phone, a scanner)
ROSTER_KINDS = ("activity", "meeting")


class RosterRef(Schema):
    """An activity's roster or a meeting's: exactly one of the two ids."""

    activity_id = fields.UUID(load_default=None)
    meeting_id = fields.UUID(load_default=None)

    @validates_schema
    def one(self, data, **kwargs):
        if (data["activity_id"] is None) == (data["meeting_id"] is None):
            raise ValidationError("name an activity or a meeting, not both", "activity_id")


class ScanReport(RosterRef, PageSchema):
    """A roster's scan report, a page of its reported scans at a time, of one outcome if named."""

    outcome = fields.String(load_default=None, validate=validate.OneOf(REPORTED_OUTCOMES))


class DownloadRoster(RosterRef):
    device_id = fields.String(required=True, validate=_device)


class Scan(Schema):
    nonce = fields.UUID(required=True)  # made by the device per scan: the scan's identity
    code = _check_in_code()
    scanned_at = Moment(required=True)  # the device's clock
    door = fields.String(load_default=None, validate=_device)  # the device's id if not named


class UploadScans(RosterRef):
    device_id = fields.String(required=True, validate=_device)
    scans = fields.List(fields.Nested(Scan), required=True, validate=validate.Length(min=1, max=MAX_SCANS_PER_UPLOAD))


class RosterEntryOut(Schema):
    holder = fields.String(required=True)  # the registration id (activity) or the person id (meeting)
    person_id = fields.String(required=True)
    child_name = fields.String(required=True, allow_none=True)
    code_hash = fields.String(required=True)  # HMAC-SHA256 (hex) of the code under hash_key
    status = fields.String(required=True, validate=validate.OneOf(sorted({*REGISTRATION_STATUSES, *ATTENDANCE})))
    checked_in_at = fields.AwareDateTime(required=True, allow_none=True)


class RosterOut(Schema):
    """What a check-in device holds: no code, only each code's HMAC under the roster's key (a
    device hashes what it scans, normalised: trimmed, upper case); ``version`` changes with the roster."""

    kind = fields.String(required=True, validate=validate.OneOf(ROSTER_KINDS))
    target_id = fields.String(required=True)
    title = fields.String(required=True)
    device_id = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True)
    hash_key = fields.String(required=True)
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    downloaded_at = fields.AwareDateTime(required=True)
    entries = fields.List(fields.Nested(RosterEntryOut), required=True)


class ScanResultOut(Schema):
    nonce = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(SCAN_OUTCOMES))
    reason = fields.String(required=True, allow_none=True)
    holder = fields.String(required=True, allow_none=True)
    person_id = fields.String(required=True, allow_none=True)


class ScanCountsOut(Schema):
    checked_in = fields.Integer(required=True)
    already_checked_in = fields.Integer(required=True)
    conflict = fields.Integer(required=True)
    rejected = fields.Integer(required=True)


class UploadedScansOut(Schema):
    """Each scan's outcome, in the order uploaded: the same answer however often uploaded."""

    kind = fields.String(required=True, validate=validate.OneOf(ROSTER_KINDS))
    target_id = fields.String(required=True)
    device_id = fields.String(required=True)
    results = fields.List(fields.Nested(ScanResultOut), required=True)
    counts = fields.Nested(ScanCountsOut, required=True)


class ReportedScanOut(ScanResultOut):
    device_id = fields.String(required=True)
    door = fields.String(required=True)
    scanned_at = fields.AwareDateTime(required=True)
    uploaded_at = fields.AwareDateTime(required=True)


class ScanReportOut(Schema):
    """A roster's scans counted by outcome, and a page of those that were not plain check-ins:
    conflicts first, then rejections, then repeats, each by the time scanned; ``next_cursor`` asks
    for the next page (None: the last)."""

    kind = fields.String(required=True, validate=validate.OneOf(ROSTER_KINDS))
    target_id = fields.String(required=True)
    counts = fields.Nested(ScanCountsOut, required=True)
    scans = fields.List(fields.Nested(ReportedScanOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
