"""The events service's commands: one function per command, ``command(ctx, cmd)``.

Each runs in the calling worker's one transaction (``ctx.session``), for the verified caller
``ctx.caller`` at the instant ``ctx.now``, and records the events it announces in that transaction
(the outbox): the change and its events commit together. A refused command raises a typed error
and, its transaction rolled back, changes nothing. An activity's status moves only through
``lifecycle.next_state`` — here, for the commands and the schedule alike (``advance``).
"""

import uuid

from alliance_platform.errors import Conflict, NotFound, ValidationError
from alliance_platform.paging import decode_cursor, page

from . import storage
from .domain import activity as activities
from .domain import (
    audience,
    calendar,
    evaluation,
    lifecycle,
    meetings,
    offers,
    organisers,
    registration,
    reminders,
    series,
)
from .domain import check_in as check_ins
from .domain.seats import Seats, to_offer

# --- activities ----------------------------------------------------------------------------------


def create_activity(ctx, cmd):
    return _create(ctx, cmd, series_id=None)


def _create(ctx, cmd, series_id):
    organisers.require_organiser(ctx.caller, cmd["organisers"])
    activities.check_consistent(cmd)
    activities.check_evaluation_settings(cmd)
    return storage.insert_activity(
        ctx.session,
        cmd,
        activity_id=str(uuid.uuid4()),
        series_id=series_id,
        created_by=organisers.actor(ctx.caller),
        now=ctx.now,
    )


def create_series(ctx, cmd):
    """A recurring activity: one activity per date of the rule, each with its own registrations.
    A rule with no date or too many is refused before any date is made."""
    occurrences = series.occurrences(cmd, ctx.settings.timezone)
    series_id = str(uuid.uuid4())
    rule = {"weekdays": sorted(cmd["weekdays"]), "until": cmd["until"].isoformat()}
    storage.insert_series(ctx.session, series_id, cmd["title"], rule, ctx.now)
    return {"series_id": series_id, "activities": [_create(ctx, o, series_id=series_id) for o in occurrences]}


def update_activity(ctx, cmd):
    """Change an activity's details; once it is announced, what really changed is announced to
    everyone registered or waiting, and a promotion is weighed against the calendar again. Seats
    a larger capacity or quota frees are offered to the waiting list."""
    changes = {field: value for field, value in cmd.items() if field != "activity_id"}
    current = _managed(ctx, cmd["activity_id"])
    merged = {**current, **changes}
    activities.check_changeable(current, merged)
    announced = current["status"] != lifecycle.DRAFT
    if announced and current["type"] == activities.THEMED_PROMOTION:
        _weigh_calendar(ctx, merged, override=current["clash_override"])
    updated = storage.update_activity(ctx.session, current["id"], changes)
    changed = activities.changed(current, updated, changes)
    if announced and changed:
        registrant_ids = storage.registrants(ctx.session, current["id"])
        _announce(ctx, updated, "activity_updated", changed=changed, registrant_ids=registrant_ids)
    if {"capacity", "quotas"} & set(changed):
        updated, _ = _offer_seats(ctx, updated)
    return updated


def publish_activity(ctx, cmd):
    """Publish a draft: its audience may see it and register. A themed promotion clashing with
    another district's is refused unless ``override_reason`` says why it goes ahead."""
    current = _managed(ctx, cmd["activity_id"])
    status = lifecycle.next_state(current["status"], "publish")
    override = cmd["override_reason"]
    clashes = _weigh_calendar(ctx, current, override)
    published = storage.mark_published(ctx.session, current["id"], status, ctx.now, override if clashes else None)
    _announce(
        ctx,
        published,
        "activity_published",
        audience=published["audience"],
        theme_tags=list(published["theme_tags"]),
        capacity=published["capacity"],
        registration_closes_at=published["registration_closes_at"],
        series_id=None if published["series_id"] is None else str(published["series_id"]),
    )
    return published


def close_registration(ctx, cmd):
    """Close registration by hand (the schedule closes it at its deadline)."""
    return advance(ctx, _managed(ctx, cmd["activity_id"]), "close_registration")


def advance(ctx, activity, action):
    """Move ``activity`` by ``action`` (``close_registration``, ``start``): what a command does by
    hand and the schedule does on time. Offers go on after registration closed, until the start:
    then the open ones end (``domain.offers``)."""
    status = lifecycle.next_state(activity["status"], action)
    if action == "start":
        activity = _end_open_offers(ctx, activity)
    return storage.set_status(ctx.session, activity["id"], status)


def cancel_activity(ctx, cmd):
    """Cancel an activity with a reason; every registration holding a seat or a place is
    cancelled with it, and everyone concerned is named in ``activity_cancelled``."""
    current = _managed(ctx, cmd["activity_id"])
    status = lifecycle.next_state(current["status"], "cancel")
    registrant_ids = storage.cancel_registrations(ctx.session, current["id"], ctx.now)
    cancelled = storage.mark_cancelled(ctx.session, current["id"], status, cmd["reason"])
    _announce(
        ctx,
        cancelled,
        "activity_cancelled",
        reason=cmd["reason"],
        registrant_ids=sorted(set(registrant_ids)),
        cancelled_at=ctx.now,
    )
    return cancelled


def complete_activity(ctx, cmd):
    """Close the books: who came and who did not. Points are the registry's ledger's alone (its
    ``POINTS_RULES``: attended_activity from ``checked_in``, no_show from ``no_shows_recorded``);
    the released ``points_per_person`` and ``points_awarded`` stay, deprecated, at 0."""
    current = _managed(ctx, cmd["activity_id"])
    status = lifecycle.next_state(current["status"], "complete")
    absent = sorted(storage.mark_no_shows(ctx.session, current["id"]), key=lambda r: r["registration_id"])
    no_shows = len(absent)
    per_person = activities.DEPRECATED_POINTS
    attended = storage.count_attended(ctx.session, current["id"])
    completed = storage.mark_completed(ctx.session, current["id"], status, ctx.now)
    _announce(
        ctx,
        completed,
        "activity_completed",
        attended=attended,
        no_shows=no_shows,
        points_awarded=activities.DEPRECATED_POINTS,
        completed_at=ctx.now,
    )
    # Who held a seat and did not come, by name: the registry's points ledger takes its no-show
    # points from this (once per registration), as it takes attendance from checked_in.
    _announce(ctx, completed, "no_shows_recorded", no_shows=absent, recorded_at=ctx.now)
    return {**completed, "attended": attended, "no_shows": no_shows, "points_per_person": per_person}


def _managed(ctx, activity_id):
    """The activity, locked, if the caller may manage it."""
    found = load_activity(ctx, activity_id)
    organisers.require_manager(ctx.caller, found)
    return found


def load_activity(ctx, activity_id, lock=True):
    found = storage.activity(ctx.session, activity_id, lock=lock)
    if found is None:
        raise NotFound(f"no activity {activity_id}")
    return found


def _weigh_calendar(ctx, activity, override):
    return calendar.check(activity, storage.promotions_overlapping(ctx.session, activity), override)


def _announce(ctx, activity, event_type, **payload):
    ctx.session.publish(event_type, {**activities.summary(activity), **payload}, aggregate_id=str(activity["id"]))


# --- registration and attendance -----------------------------------------------------------------


def register(ctx, cmd):
    """Register the caller (or their child, or — for systems and administrators — someone else):
    confirmed while a seat fits, else at the end of the waiting list. The activity's row lock
    decides registrations one at a time, so it is never overbooked."""
    person_id, merchant_id, district = registration.registrant(ctx.caller, cmd)
    # Asked before the activity's lock, so that registrations wait for each other as briefly as
    # possible; a twin racing past this is stopped by the unique index (registrations_once).
    already = storage.live_registration(ctx.session, cmd["activity_id"], person_id, cmd.get("child_name"))
    activity = load_activity(ctx, cmd["activity_id"])  # the lock that serialises registrations
    if activity["status"] != lifecycle.PUBLISHED:
        raise Conflict(f"{activity['title']} is {activity['status']}: registration is not open")
    if not activity["registration_opens_at"] <= ctx.now < activity["registration_closes_at"]:
        raise Conflict(
            f"registration for {activity['title']} is open from {activity['registration_opens_at'].isoformat()}"
            f" to {activity['registration_closes_at'].isoformat()}"
        )
    audience.check(ctx.caller, activity, district, cmd)
    if already:
        raise Conflict(f"already registered for {activity['title']} ({already['status']})")
    confirmed = Seats.of(activity).fits(district)
    made = storage.insert_registration(
        ctx.session,
        activity,
        {
            "id": str(uuid.uuid4()),
            "person_id": person_id,
            "merchant_id": merchant_id,
            "district": district,
            "child_name": cmd.get("child_name"),
            "child_age": cmd.get("child_age"),
            "code": registration.check_in_code(),
        },
        confirmed,
        ctx.now,
    )
    if made is None:
        raise Conflict(f"already registered for {activity['title']}")
    if confirmed:
        _announce_registration(ctx, activity, made, "registration_confirmed", check_in_code=made["check_in_code"])
    else:
        _announce_registration(ctx, activity, made, "registration_waitlisted", position=made["place"])
    # Its code (if it has a seat), not its QR code: drawing that would hold the activity's lock
    # longer; list_registrations has it.
    return {
        **registration.shown(made, activity, ticket=False),
        "check_in_code": made["check_in_code"] if confirmed else None,
    }


def cancel_registration(ctx, cmd):
    """Its registrant cancels a registration; a seat it held (or was offered) is offered, in the
    same transaction, to the first waiting registration that fits."""
    mine = _registration(ctx, cmd["registration_id"])
    activity = load_activity(ctx, mine["activity_id"])
    registration.require_registrant(ctx.caller, mine)
    mine = _registration(ctx, cmd["registration_id"])  # read again under the activity's lock
    if mine["status"] not in registration.HELD:
        raise Conflict(f"the registration is {mine['status']}: nothing to cancel")
    if activity["status"] not in lifecycle.UPCOMING:
        raise Conflict(f"{activity['title']} is {activity['status']}: registrations can no longer change")
    was = mine["status"]
    cancelled = storage.mark_registration_cancelled(ctx.session, mine["id"], ctx.now)
    _announce_registration(ctx, activity, cancelled, "registration_cancelled", was=registration.public_status(was))
    district = cancelled["district_id"]
    if was == registration.WAITLISTED:
        activity = storage.move_counters(ctx.session, activity, district, waiting=-1)
        return {"cancelled": registration.shown(cancelled, activity, ticket=True), "promoted": None, "offered": None}
    freed = {"offered": -1} if was == registration.OFFERED else {"confirmed": -1}
    activity = storage.move_counters(ctx.session, activity, district, **freed)
    activity, offered = _offer_seats(ctx, activity)
    return {
        "cancelled": registration.shown(cancelled, activity, ticket=True),
        # Seats are offered now, not given: nobody is promoted by a cancellation any more.
        "promoted": None,
        # The seat offered to someone else: the canceller learns that, never the newcomer's code.
        "offered": registration.shown(offered[0], activity, ticket=False) if offered else None,
    }


# --- waiting-list offers -------------------------------------------------------------------------


def accept_offer(ctx, cmd):
    """The waiter (their shop, or the organisers on their behalf) takes the seat offered: confirmed,
    with a check-in code. Not after the offer expired, was declined or was accepted already."""
    mine, activity = _offer(ctx, cmd["registration_id"])
    accepted = storage.accept_offer(ctx.session, mine["id"], ctx.now, offers.ACCEPTED)
    activity = storage.move_counters(ctx.session, activity, accepted["district_id"], confirmed=1, offered=-1)
    code = accepted["check_in_code"]
    _announce_offer(ctx, activity, accepted, "offer_accepted", accepted_at=ctx.now, check_in_code=code)
    return registration.shown(accepted, activity, ticket=accepted["person_id"] == ctx.caller.subject)


def decline_offer(ctx, cmd):
    """The waiter declines the seat offered: the registration is cancelled and the seat offered to
    the next waiting registration that fits (or free again)."""
    mine, activity = _offer(ctx, cmd["registration_id"])
    declined = storage.end_offer(ctx.session, mine["id"], ctx.now, offers.DECLINED, waits_again=False)
    activity = storage.move_counters(ctx.session, activity, declined["district_id"], offered=-1)
    _announce_offer(ctx, activity, declined, "offer_declined", declined_at=ctx.now)
    activity, _ = _offer_seats(ctx, activity)
    return registration.shown(declined, activity, ticket=False)


def expire_offers(ctx, activity):
    """The schedule ends the activity's offers past their time (each registration cancelled) and
    offers their seats to the next waiting; how many expired."""
    due = storage.open_offers(ctx.session, activity["id"], due_at=ctx.now)
    for offered in due:
        ended = storage.end_offer(ctx.session, offered["id"], ctx.now, offers.EXPIRED, waits_again=False)
        activity = storage.move_counters(ctx.session, activity, ended["district_id"], offered=-1)
        _announce_offer(ctx, activity, ended, "offer_expired", because=offers.EXPIRED, ended_at=ctx.now)
    _offer_seats(ctx, activity)
    return len(due)


def _offer(ctx, registration_id):
    """The registration whose offer the caller answers, and its activity, locked: the offer open."""
    found = _registration(ctx, registration_id)
    activity = load_activity(ctx, found["activity_id"])
    mine = _registration(ctx, registration_id)  # read again under the activity's lock
    offers.require_responder(ctx.caller, mine, activity)
    offers.check_answerable(mine, activity, ctx.now)
    return mine, activity


def _offer_seats(ctx, activity):
    """Offer the activity's free seats to the first waiting registrations that fit, until the
    activity starts; the activity's row after, and the registrations offered a seat."""
    seats = Seats.of(activity)
    if not offers.open_for_offers(activity, ctx.now) or seats.taken() >= seats.capacity:
        return activity, []
    made = []
    for waiter in to_offer(storage.waiting_list(ctx.session, activity["id"]), seats):
        expires_at = offers.expires_at(activity, ctx.now, ctx.settings.offer_valid)
        offered = storage.offer_seat(ctx.session, waiter["id"], ctx.now, expires_at)
        activity = storage.move_counters(ctx.session, activity, offered["district_id"], offered=1, waiting=-1)
        _announce_offer(ctx, activity, offered, "seat_offered")
        made.append(offered)
    return activity, made


def _end_open_offers(ctx, activity):
    """The activity starts: open offers end, their registrations wait again in their place."""
    for offered in storage.open_offers(ctx.session, activity["id"]):
        ended = storage.end_offer(ctx.session, offered["id"], ctx.now, offers.REGISTRATION_CLOSED, waits_again=True)
        activity = storage.move_counters(ctx.session, activity, ended["district_id"], offered=-1, waiting=1)
        _announce_offer(ctx, activity, ended, "offer_expired", because=offers.REGISTRATION_CLOSED, ended_at=ctx.now)
    return activity


def _announce_offer(ctx, activity, made, event_type, **extra):
    _announce_registration(
        ctx, activity, made, event_type, offered_at=made["offered_at"], expires_at=made["offer_expires_at"], **extra
    )


def check_in(ctx, cmd):
    """An organiser checks a confirmed registrant in by the code on their card or phone."""
    activity = load_activity(ctx, cmd["activity_id"], lock=False)
    organisers.require_manager(ctx.caller, activity)
    if activity["status"] not in lifecycle.ANNOUNCED:
        raise Conflict(f"{activity['title']} is {activity['status']}: no check-in")
    code = cmd["code"]
    found = storage.registration_by_code(ctx.session, activity["id"], check_ins.normalised(code))
    if found is None:
        raise NotFound(f"no registration with code {code} for {activity['title']}")
    if found["status"] == registration.ATTENDED:
        raise Conflict(f"already checked in at {found['checked_in_at'].isoformat()}")
    if found["status"] != registration.CONFIRMED:
        raise Conflict(f"the registration is {found['status']}: only confirmed registrants check in")
    attended = storage.mark_attended(ctx.session, found["id"], ctx.now)
    _announce_registration(ctx, activity, attended, "checked_in", checked_in_at=ctx.now)
    return registration.shown(attended, activity, ticket=True)


def _registration(ctx, registration_id):
    found = storage.registration(ctx.session, registration_id)
    if found is None:
        raise NotFound(f"no registration {registration_id}")
    return found


def _announce_registration(ctx, activity, made, event_type, **extra):
    _announce(
        ctx,
        activity,
        event_type,
        registration_id=str(made["id"]),
        person_id=made["person_id"],
        merchant_id=None if made["merchant_id"] is None else str(made["merchant_id"]),
        district_id=made["district_id"],
        child_name=made["child_name"],
        **extra,
    )


# --- evaluations ---------------------------------------------------------------------------------


def nominate(ctx, cmd, *, merchant_exists):
    """An organiser nominates a merchant of the register (``merchant_exists(merchant_id)`` asks it)
    until voting closes; once per merchant."""
    activity = _evaluation(ctx, cmd["activity_id"])
    organisers.require_manager(ctx.caller, activity)
    evaluation.check_nominating(activity, ctx.now)
    merchant_id = str(cmd["merchant_id"])
    if not merchant_exists(merchant_id):
        raise ValidationError("unknown merchant", {"merchant_id": [f"no merchant {merchant_id} in the register"]})
    nominated_by = organisers.actor(ctx.caller)
    if not storage.insert_nomination(ctx.session, activity["id"], merchant_id, nominated_by, cmd["reason"], ctx.now):
        raise Conflict(f"merchant {merchant_id} is already nominated for {activity['title']}")
    return {"activity_id": str(activity["id"]), "merchant_id": merchant_id}


def vote(ctx, cmd):
    """One vote per voter per nominee, within the voting window, by the roles the evaluation names."""
    activity = _evaluation(ctx, cmd["activity_id"])
    evaluation.check_voter(ctx.caller, activity, ctx.now)
    merchant_id = str(cmd["merchant_id"])
    if not storage.is_nominated(ctx.session, activity["id"], merchant_id):
        raise ValidationError("not a nominee", {"merchant_id": [f"merchant {merchant_id} is not nominated"]})
    if not storage.insert_vote(ctx.session, activity["id"], merchant_id, ctx.caller.subject, ctx.now):
        raise Conflict("you have already voted for this nominee")
    return {"activity_id": str(activity["id"]), "merchant_id": merchant_id, "voted": True}


def close_evaluation(ctx, cmd):
    """Once voting is over: the winners, named in ``evaluation_closed`` for the registry to honour."""
    activity = _evaluation(ctx, cmd["activity_id"], lock=True)
    organisers.require_manager(ctx.caller, activity)
    evaluation.check_closing(activity, ctx.now)
    status = lifecycle.next_state(activity["status"], "close_evaluation")
    tally = storage.tally(ctx.session, activity["id"])
    winners = evaluation.ranking(tally, activity["evaluation_winners"])
    storage.mark_evaluation_closed(ctx.session, activity["id"], status, ctx.now)
    ctx.session.publish(
        "evaluation_closed",
        {
            "activity_id": str(activity["id"]),
            "title": activity["title"],
            "kind": activity["evaluation_kind"],
            "year": activity["evaluation_year"],
            "stars": activity["evaluation_stars"],
            "winners": winners,
            "closed_at": ctx.now,
        },
        aggregate_id=str(activity["id"]),
    )
    return {
        "activity_id": str(activity["id"]),
        "winners": winners,
        "tally": sorted(
            ({"merchant_id": t["merchant_id"], "votes": t["votes"]} for t in tally), key=lambda t: -t["votes"]
        ),
    }


def _evaluation(ctx, activity_id, lock=False):
    activity = load_activity(ctx, activity_id, lock=lock)
    evaluation.check_open(activity)
    return activity


# --- what time does ------------------------------------------------------------------------------


def remind(ctx, activity):
    """Remind the activity's confirmed registrants of its start if a window is due (once per
    window, recorded on the activity in this transaction); whether one was."""
    window = reminders.due(activity["starts_at"], ctx.now, activity["reminders_sent"])
    if window is None:
        return False
    person_ids = storage.confirmed_people(ctx.session, activity["id"])
    _announce(ctx, activity, "activity_reminder_due", window=window, person_ids=person_ids)
    storage.record_reminder(ctx.session, activity["id"], window)
    return True


# --- branch life (三会一课) ------------------------------------------------------------------------


def plan_meeting(ctx, cmd, *, branches):
    """Plan a meeting of a Party branch of the register (``branches``: the registry's), with its
    agenda; invited are the branch's members unless ``invitees`` names people of the register.
    Each invitee gets a check-in code; everyone invited is told (``meeting_planned``)."""
    branch = known_branch(branches, cmd["branch_id"])
    meetings.require_secretary(ctx.caller, branch)
    meetings.check_times(cmd["starts_at"], cmd["ends_at"], ctx.now)
    invitees = _invitees(branches, branch, cmd.get("invitees"))
    fields = {k: cmd[k] for k in ("kind", "title", "place", "starts_at", "ends_at", "agenda")}
    planned_by = organisers.actor(ctx.caller)
    made = storage.insert_meeting(
        ctx.session, fields, meeting_id=str(uuid.uuid4()), branch=branch, planned_by=planned_by, now=ctx.now
    )
    storage.invite(ctx.session, made["id"], [(person_id, check_ins.code()) for person_id in invitees])
    _announce_meeting(ctx, made, "meeting_planned", agenda=made["agenda"], person_ids=invitees, planned_by=planned_by)
    return _meeting_shown(ctx, made)


def known_branch(branches, branch_id, retired_too=False):
    """The register's Party branch ``branch_id``; an unknown one is a mistake to point out. A branch
    the registry retired holds no more meetings (a ``Conflict``) but keeps those it held: with
    ``retired_too`` (reading them) it is found like any other."""
    branch = branches.get(branch_id, include_retired=True)
    if branch is None:
        raise ValidationError("unknown branch", {"branch_id": [f"no Party branch {branch_id!r} in the register"]})
    if branch.get("retired") and not retired_too:
        raise Conflict(f"{branch['name']} ({branch_id}) was retired in the register: it holds no more meetings")
    return branch


def _invitees(branches, branch, named):
    if named is None:
        found = branches.members(branch["id"], meetings.MAX_INVITEES)
        if not found:
            raise ValidationError("nobody to invite", {"branch_id": [f"{branch['id']} has no members in the register"]})
        if len(found) > meetings.MAX_INVITEES:
            raise ValidationError("too many invitees", {"invitees": [f"more than {meetings.MAX_INVITEES}: name them"]})
        return sorted(set(found))
    named = sorted(set(named))
    unknown = branches.unknown_people(named)
    if unknown:
        missing = ", ".join(sorted(unknown))
        raise ValidationError("unknown people", {"invitees": [f"no person {missing} in the register"]})
    return named


def check_in_to_meeting(ctx, cmd):
    """The secretary (or staff) checks an invitee in by the code on their card or phone, from the
    time the door opens (``MEETING_CHECK_IN_OPENS_MINUTES`` before the start) until it is held."""
    found = _managed_meeting(ctx, cmd["meeting_id"])
    meetings.check_door_open(found, ctx.now, ctx.settings.meeting_door_opens)
    code = cmd["code"]
    invitee = storage.attendee_by_code(ctx.session, found["id"], check_ins.normalised(code))
    if invitee is None:
        raise NotFound(f"no invitee with code {code} for {found['title']}")
    if invitee["status"] == meetings.ATTENDED:
        raise Conflict(f"already checked in at {invitee['checked_in_at'].isoformat()}")
    attended = storage.mark_meeting_attended(ctx.session, found["id"], invitee["person_id"], ctx.now)
    return meetings.attendee_shown(attended)


def excuse_absence(ctx, cmd):
    """An invitee asks leave (请假) with a reason — themselves, or the secretary on their behalf —
    until the meeting is held; one who checked in is not excused."""
    found = load_meeting(ctx, cmd["meeting_id"], lock=True)
    person_id = cmd.get("person_id") or ctx.caller.subject
    if person_id != ctx.caller.subject:
        meetings.require_manager(ctx.caller, found)
    if found["status"] != meetings.PLANNED:
        raise Conflict(f"the meeting is {found['status']}: attendance is no longer taken")
    invitee = storage.attendee(ctx.session, found["id"], person_id)
    if invitee is None:
        raise NotFound(f"{person_id} is not invited to {found['title']}")
    if invitee["status"] == meetings.ATTENDED:
        raise Conflict(f"{person_id} checked in at {invitee['checked_in_at'].isoformat()}: not absent")
    return meetings.attendee_shown(storage.mark_excused(ctx.session, found["id"], person_id, cmd["reason"]))


def hold_meeting(ctx, cmd):
    """The meeting is held: its attendance closed — whoever neither checked in nor was excused is
    absent — and recorded in ``meeting_held``. From the time the door opens."""
    found = _managed_meeting(ctx, cmd["meeting_id"])
    meetings.check_door_open(found, ctx.now, ctx.settings.meeting_door_opens)
    meetings.next_state(found["status"], "hold")
    held = storage.mark_held(ctx.session, found["id"], ctx.now)
    attendees = storage.attendees(ctx.session, held["id"])
    rate = meetings.attendance(attendees)["attendance_rate"]
    _announce_meeting(ctx, held, "meeting_held", **meetings.roll(attendees), attendance_rate=rate, held_at=ctx.now)
    return _meeting_shown(ctx, held)


def record_minutes(ctx, cmd):
    """The minutes of a held meeting and its decisions, once (a correction is a matter for the
    branch's records, not a silent edit)."""
    found = _managed_meeting(ctx, cmd["meeting_id"])
    meetings.check_minutes(found)
    recorded_by = organisers.actor(ctx.caller)
    done = storage.record_minutes(ctx.session, found["id"], cmd["minutes"], cmd["decisions"], recorded_by, ctx.now)
    if done is None:
        raise Conflict(f"the minutes of {found['title']} were recorded at {found['minutes_recorded_at'].isoformat()}")
    _announce_meeting(
        ctx,
        done,
        "minutes_recorded",
        minutes=done["minutes"],
        decisions=done["decisions"],
        recorded_by=recorded_by,
        recorded_at=ctx.now,
    )
    return _meeting_shown(ctx, done)


def cancel_meeting(ctx, cmd):
    """Cancel a planned meeting, with the reason; everyone invited is told."""
    found = _managed_meeting(ctx, cmd["meeting_id"])
    meetings.next_state(found["status"], "cancel")
    cancelled = storage.mark_meeting_cancelled(ctx.session, found["id"], cmd["reason"], ctx.now)
    invited = [a["person_id"] for a in storage.attendees(ctx.session, found["id"])]
    _announce_meeting(
        ctx, cancelled, "meeting_cancelled", reason=cmd["reason"], person_ids=invited, cancelled_at=ctx.now
    )
    return _meeting_shown(ctx, cancelled)


def load_meeting(ctx, meeting_id, lock=False):
    found = storage.meeting(ctx.session, meeting_id, lock=lock)
    if found is None:
        raise NotFound(f"no meeting {meeting_id}")
    return found


def _managed_meeting(ctx, meeting_id):
    found = load_meeting(ctx, meeting_id, lock=True)
    meetings.require_manager(ctx.caller, found)
    return found


def _meeting_shown(ctx, meeting):
    return meetings.shown(meeting, storage.attendees(ctx.session, meeting["id"]), ctx.caller, full=True)


def _announce_meeting(ctx, meeting, event_type, **payload):
    ctx.session.publish(event_type, {**meetings.summary(meeting), **payload}, aggregate_id=str(meeting["id"]))


def announce_overdue(ctx, branch, kind, standing):
    """Tell the branch's secretary it missed a period of ``kind`` (once per period); whether told now."""
    if not storage.record_overdue_notice(ctx.session, branch["id"], kind, standing.missed_period, ctx.now):
        return False
    ctx.session.publish(
        "branch_meeting_overdue",
        {
            "branch_id": branch["id"],
            "branch_name": branch["name"],
            "district_id": branch["district_id"],
            "kind": kind,
            "rhythm": ctx.settings.meeting_rhythm[kind],
            "last_held_on": standing.last_held,
            "due_on": standing.next_due,
            "missed_period": standing.missed_period,
        },
        aggregate_id=f"{branch['id']}:{kind}",
    )
    return True


# --- offline check-in (a device's roster, its scans uploaded later) ------------------------------

ACTIVITY_ROSTER, MEETING_ROSTER = "activity", "meeting"


def _roster_target(ctx, cmd, lock=True):
    """(kind, target, opens_at, closes_at, open) of the roster ``cmd`` names, locked (uploads to
    one roster, and its registrations, are decided one at a time), if the caller may manage it."""
    if cmd.get("activity_id") is not None:
        found = load_activity(ctx, cmd["activity_id"], lock=lock)
        organisers.require_manager(ctx.caller, found)
        opens_at = found["starts_at"] - ctx.settings.activity_door_opens
        return ACTIVITY_ROSTER, found, opens_at, found["ends_at"], found["status"] in lifecycle.ANNOUNCED
    found = load_meeting(ctx, cmd["meeting_id"], lock=lock)
    meetings.require_manager(ctx.caller, found)
    opens_at = found["starts_at"] - ctx.settings.meeting_door_opens
    return MEETING_ROSTER, found, opens_at, found["ends_at"], found["status"] == meetings.PLANNED


def _holder_kind(kind, status):
    if kind == ACTIVITY_ROSTER:
        if status == registration.CONFIRMED:
            return check_ins.ADMISSIBLE
        return check_ins.ATTENDED_ALREADY if status == registration.ATTENDED else check_ins.INADMISSIBLE
    # A meeting's invitee who asked leave and comes after all is there (as at the door online).
    return check_ins.ATTENDED_ALREADY if status == meetings.ATTENDED else check_ins.ADMISSIBLE


def download_roster(ctx, cmd):
    """What a check-in device holds to check people in without network: each holder's code as an
    HMAC under the roster's key (never the code), their status, and the roster's version. The
    download is recorded per device: its scans are taken from then on."""
    kind, target, opens_at, closes_at, is_open = _roster_target(ctx, cmd)
    if not is_open:
        raise Conflict(f"{target['title']} is {target['status']}: no check-in")
    key = storage.roster_key(ctx.session, kind, target["id"], check_ins.hash_key(), ctx.now)
    entries = [
        {
            "holder": h["holder"],
            "person_id": h["person_id"],
            "child_name": h["child_name"],
            "code_hash": check_ins.code_hash(key, h["code"]),
            "status": h["status"],
            "checked_in_at": h["checked_in_at"],
        }
        for h in storage.roster_holders(ctx.session, kind, target["id"])
    ]
    version = check_ins.roster_version(entries)
    storage.record_download(
        ctx.session, kind, target["id"], cmd["device_id"], version, organisers.actor(ctx.caller), ctx.now
    )
    return {
        "kind": kind,
        "target_id": str(target["id"]),
        "title": target["title"],
        "device_id": cmd["device_id"],
        "version": version,
        "hash": "hmac-sha256",
        "hash_key": key,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "downloaded_at": ctx.now,
        "entries": entries,
    }


def upload_scans(ctx, cmd):
    """A device's scans, uploaded when it has network again: each kept once by its nonce (a scan
    uploaded again is answered as it was the first time and changes nothing). The earliest scan of
    a code checks its holder in — once, however many devices scanned it (``checked_in`` published
    once per registrant); the same code scanned at another door is a conflict, kept and reported; an
    unknown code, a registration that holds no seat, a scan outside the check-in window or in the
    future (beyond the clock skew allowed) is rejected with the reason."""
    kind, target, opens_at, closes_at, is_open = _roster_target(ctx, cmd)
    device = cmd["device_id"]
    downloaded = storage.first_download(ctx.session, kind, target["id"], device)
    if downloaded is None:
        raise Conflict(f"device {device} has not downloaded the roster of {target['title']}")
    skew = ctx.settings.check_in_skew
    kept = storage.scans_by_nonce(ctx.session, [s["nonce"] for s in cmd["scans"]])
    answers = {}
    for scan in check_ins.in_scan_order(cmd["scans"]):
        nonce = str(scan["nonce"])
        if nonce in kept or nonce in answers:
            continue
        scan = {**scan, "device_id": device, "door": scan.get("door") or device}
        holder, person_id, outcome, reason = _judge_scan(ctx, kind, target, scan, opens_at, closes_at, skew)
        if not is_open:  # whatever the scan was, attendance was closed before it came
            outcome, reason = check_ins.REJECTED, f"{target['title']} is {target['status']}: attendance is closed"
        elif outcome != check_ins.REJECTED and scan["scanned_at"] < downloaded - skew:
            outcome, reason = check_ins.REJECTED, "scanned before the device downloaded the roster"
        if outcome == check_ins.CHECKED_IN:
            _check_in_by_scan(ctx, kind, target, holder, scan["scanned_at"])
        storage.insert_scan(ctx.session, kind, target["id"], scan, holder, person_id, outcome, reason, ctx.now)
        answers[nonce] = {"holder": holder, "person_id": person_id, "outcome": outcome, "reason": reason}
    results = []
    for scan in cmd["scans"]:
        nonce = str(scan["nonce"])
        done = answers.get(nonce) or kept[nonce]
        if nonce in kept and (kept[nonce]["target_kind"], kept[nonce]["target_id"]) != (kind, str(target["id"])):
            done = {
                "holder": None,
                "person_id": None,
                "outcome": check_ins.REJECTED,
                "reason": "the nonce is a scan of another roster",
            }
        results.append({"nonce": nonce, **{k: done[k] for k in ("holder", "person_id", "outcome", "reason")}})
    counts = {outcome: 0 for outcome in check_ins.SCAN_OUTCOMES}
    for result in results:
        counts[result["outcome"]] += 1
    return {"kind": kind, "target_id": str(target["id"]), "device_id": device, "results": results, "counts": counts}


def _judge_scan(ctx, kind, target, scan, opens_at, closes_at, skew):
    code = check_ins.normalised(scan["code"])
    if kind == ACTIVITY_ROSTER:
        found = storage.registration_by_code(ctx.session, target["id"], code)
        holder = None if found is None else str(found["id"])
    else:
        found = storage.attendee_by_code(ctx.session, target["id"], code)
        holder = None if found is None else found["person_id"]
    standing = None if found is None else (_holder_kind(kind, found["status"]), found["status"])
    first = None if holder is None else storage.checking_scan(ctx.session, kind, target["id"], holder)
    outcome, reason = check_ins.judge(
        scan, standing, first, opens_at=opens_at, closes_at=closes_at, now=ctx.now, skew=skew
    )
    return holder, None if found is None else found["person_id"], outcome, reason


def _check_in_by_scan(ctx, kind, target, holder, scanned_at):
    """Attendance from a scan: at the time it was scanned, announced as a check-in at the door is."""
    if kind == ACTIVITY_ROSTER:
        attended = storage.mark_attended(ctx.session, holder, scanned_at)
        _announce_registration(ctx, target, attended, "checked_in", checked_in_at=scanned_at)
    else:
        storage.mark_meeting_attended(ctx.session, target["id"], holder, scanned_at)


def scan_report(ctx, cmd):
    """A roster's scans by outcome, and a page of each that was not a plain check-in (conflicts
    first, then rejections, then repeats; by the time scanned)."""
    kind, target, _opens, _closes, _open = _roster_target(ctx, cmd, lock=False)
    counts = storage.scan_counts(ctx.session, kind, target["id"])
    rows = storage.scan_report(
        ctx.session,
        kind,
        target["id"],
        outcomes=check_ins.REPORTED_OUTCOMES,
        only=cmd.get("outcome"),
        limit=cmd["limit"],
        after=decode_cursor(cmd.get("cursor"), 3),
    )
    found = page(rows, cmd["limit"], key=lambda s: (s["rank"], s["scanned_at"].isoformat(), s["nonce"]))
    return {
        "kind": kind,
        "target_id": str(target["id"]),
        "counts": {outcome: counts.get(outcome, 0) for outcome in check_ins.SCAN_OUTCOMES},
        "scans": found["items"],
        "next_cursor": found["next_cursor"],
    }
