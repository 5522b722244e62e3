"""Rules are data: the shipped file covers every notification the issue lists, and a wrong rule
stops the service from starting with a message that names it."""

from zoneinfo import ZoneInfo

import pytest
import yaml

from alliance_contracts import get_contract
from alliance_notifications.domain.rules import DEFAULT_RULES, Rules, RulesInvalid, subscriptions
from alliance_notifications.domain.templates import Templates
from alliance_notifications.service import NotificationsService
from alliance_notifications.settings import DEFAULT_TEMPLATES, handled_events

SH = ZoneInfo("Asia/Shanghai")
TEMPLATES = Templates(DEFAULT_TEMPLATES, SH, sms_limit=70, sms_signature="【红星德百】")
HANDLED = handled_events(NotificationsService)
UUID = "5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d"


def shipped():
    return yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))


def rules(document=None):
    return Rules(document or shipped(), TEMPLATES, HANDLED, SH)


def fired(source, event_type, example=0, **changes):
    payload = {
        **get_contract(source, event_type).schema.load(get_contract(source, event_type).examples[example]),
        **changes,
    }
    return [(rule.name, rule.urgency) for rule in rules().match(source, event_type, payload)]


@pytest.mark.parametrize(
    "event, example, changes, expected",
    [
        (
            "tickets.ticket_submitted",
            0,
            {},
            [("ticket_received", "normal"), ("ticket_new_for_district_staff", "normal")],
        ),
        ("tickets.ticket_assigned", 0, {}, [("ticket_routed_to_team", "normal")]),  # the team's members
        ("tickets.ticket_assigned", 0, {"team": None}, []),
        ("tickets.ticket_assigned", 0, {"assignee_id": "p-5"}, [("ticket_proposed_to_assignee", "normal")]),
        ("tickets.ticket_assigned", 1, {}, []),  # the owner accepted it: no news for them
        ("tickets.ticket_assigned", 2, {}, [("ticket_reassigned_to_assignee", "normal")]),
        ("tickets.ticket_status_changed", 0, {}, [("ticket_waiting_on_merchant", "normal")]),
        ("tickets.ticket_status_changed", 0, {"to_status": "in_progress"}, []),
        ("tickets.ticket_resolved", 0, {}, [("ticket_resolved", "normal")]),
        ("tickets.ticket_closed", 0, {}, [("ticket_closed", "normal")]),
        ("tickets.ticket_closed", 1, {}, [("ticket_closed", "normal")]),  # closed by itself
        ("tickets.ticket_reopened", 0, {}, [("ticket_reopened_unowned", "normal")]),
        ("tickets.ticket_reopened", 0, {"responsible_id": "p-1"}, [("ticket_reopened_to_owner", "normal")]),
        ("tickets.follow_up_call_scheduled", 0, {}, [("follow_up_call_to_supervisor", "normal")]),
        ("tickets.follow_up_call_scheduled", 1, {}, [("follow_up_call_unassigned", "normal")]),
        ("tickets.ticket_due_soon", 0, {"responsible_id": "p-1"}, [("ticket_due_soon", "normal")]),
        ("tickets.ticket_overdue", 0, {}, [("ticket_overdue_unowned", "normal")]),
        ("tickets.ticket_overdue", 0, {"responsible_id": "p-1"}, [("ticket_overdue_to_owner", "normal")]),
        ("tickets.ticket_escalated", 0, {}, [("ticket_escalated_to_secretary", "urgent")]),
        ("tickets.ticket_escalated", 1, {}, [("ticket_escalated_to_group", "urgent")]),
        ("events.activity_published", 0, {}, [("activity_published", "normal")]),
        ("events.activity_cancelled", 0, {}, [("activity_cancelled", "normal")]),
        ("events.activity_updated", 0, {}, [("activity_time_or_venue_changed", "normal")]),
        ("events.activity_updated", 0, {"changed": ["ends_at"]}, [("activity_time_or_venue_changed", "normal")]),
        ("events.activity_updated", 1, {}, []),  # new theme tags are nobody's news
        ("events.registration_cancelled", 0, {}, [("registration_cancelled_person", "normal")]),
        ("events.registration_cancelled", 0, {"merchant_id": UUID}, [("registration_cancelled_shop", "normal")]),
        ("events.registration_confirmed", 0, {}, [("registration_confirmed_person", "normal")]),
        ("events.registration_confirmed", 0, {"merchant_id": UUID}, [("registration_confirmed_shop", "normal")]),
        ("events.registration_waitlisted", 0, {}, [("registration_waitlisted_person", "low")]),
        ("events.registration_promoted", 0, {"merchant_id": UUID}, [("registration_promoted_shop", "normal")]),
        # Waiting-list offers: the deadline cannot wait for the end of the quiet hours.
        ("events.seat_offered", 0, {}, [("seat_offered_person", "urgent")]),
        ("events.seat_offered", 0, {"merchant_id": UUID}, [("seat_offered_shop", "urgent")]),
        ("events.offer_accepted", 0, {}, [("offer_accepted_person", "normal")]),
        ("events.offer_accepted", 0, {"merchant_id": UUID}, [("offer_accepted_shop", "normal")]),
        ("events.offer_declined", 0, {}, [("offer_declined_person", "low")]),
        ("events.offer_expired", 0, {}, [("offer_expired_person", "normal")]),
        ("events.offer_expired", 1, {"merchant_id": UUID}, [("offer_expired_shop", "normal")]),
        ("events.activity_reminder_due", 0, {}, [("activity_reminder_day_before", "normal")]),
        ("events.activity_reminder_due", 1, {}, [("activity_reminder_two_hours", "urgent")]),
        ("registry.honour_awarded", 0, {}, [("honour_awarded", "low")]),
        (
            "registry.floating_member_transfer_due",
            0,
            {},
            [("floating_transfer_due_member", "normal"), ("floating_transfer_due_secretary", "normal")],
        ),
        ("events.meeting_planned", 0, {}, [("meeting_planned", "normal")]),
        ("events.meeting_cancelled", 0, {}, [("meeting_cancelled", "normal")]),
        ("events.branch_meeting_overdue", 0, {}, [("branch_meeting_overdue", "normal")]),
        # A branch the register places in no district: no secretary's district to reach.
        ("events.branch_meeting_overdue", 0, {"district_id": None}, []),
    ],
)
def test_the_shipped_rules_fire_for_every_notification_the_alliance_needs(event, example, changes, expected):
    source, event_type = event.split(".")
    assert fired(source, event_type, example, **changes) == expected


def test_an_overdue_branch_reaches_the_secretaries_of_its_district_and_invitees_by_id():
    by_name = {rule.name: rule for rule in rules().rules}
    policy = rules().policy
    overdue = get_contract("events", "branch_meeting_overdue").examples[0]
    assert by_name["branch_meeting_overdue"].to.steps(overdue, policy) == [
        {"registry": {"role": "branch_secretary"}, "districts": ["aodele"]}
    ]
    planned = get_contract("events", "meeting_planned").examples[0]
    assert by_name["meeting_planned"].to.steps({**planned, "person_ids": [UUID]}, policy) == [
        {"registry": {"person_ids": [UUID]}}
    ]


def test_recipients_become_registry_queries_groups_or_inbox_only_ids():
    by_name = {rule.name: rule for rule in rules().rules}
    policy = rules().policy
    cancelled = get_contract("events", "activity_cancelled").examples[0]
    assert by_name["activity_cancelled"].to.steps({**cancelled, "registrant_ids": [UUID, "p-1"]}, policy) == [
        {"registry": {"person_ids": [UUID]}},
        {"unresolved": ["person:p-1"]},
    ]
    audience = {"kinds": ["merchants", "party_members"], "districts": []}
    assert by_name["activity_published"].to.steps({"audience": audience}, policy) == [
        {"registry": {"districts": ["aodele", "outlets", "wholesale_city"]}},
        {"registry": {"role": "party_member"}, "districts": ["aodele", "outlets", "wholesale_city"]},
    ]
    many = [f"city_{n:02d}" for n in range(25)]
    steps = by_name["activity_published"].to.steps({"audience": {"kinds": ["merchants"], "districts": many}}, policy)
    assert [len(step["registry"]["districts"]) for step in steps] == [10, 10, 5], "the registry takes ten at a time"
    assert by_name["ticket_new_for_district_staff"].to.steps({"district_id": "aodele"}, policy) == [{"group": "aodele"}]
    assert by_name["floating_transfer_due_secretary"].to.steps({"district_id": "outlets"}, policy) == [
        {"registry": {"role": "branch_secretary"}, "districts": ["outlets"]}
    ]
    assert by_name["ticket_received"].to.steps({"merchant_id": None}, policy) == []
    assert by_name["ticket_routed_to_team"].to.steps({"team": "bank-liaisons"}, policy) == [
        {"registry": {"team": "bank-liaisons"}}
    ]


def _with(**changes):
    document = shipped()
    document["rules"] = [{**document["rules"][0], **changes}]
    return document


@pytest.mark.parametrize(
    "document, message",
    [
        (_with(event="events.checked_in"), "this service handles only"),
        (_with(event="tickets.no_such_event"), "this service handles only"),
        (_with(to={"merchant": "shop_id"}), "'shop_id' is not a field of tickets.ticket_submitted"),
        (_with(to={"merchant": "merchant_id", "person": "requester_id"}), "name exactly one of"),
        (_with(when={"stauts": "x"}), "when 'stauts' is not a field"),
        (_with(when={"team": {"exists": True}}), "present: true"),
        (_with(when={"team": {"includes_any": ["x"]}}), "includes_any needs a list field"),
        (_with(template="no_such_template"), "no template 'no_such_template'"),
        (_with(template="honour_awarded"), "not written for tickets.ticket_submitted"),
        (_with(category="gossip"), "category 'gossip'"),
        (_with(urgency="asap"), "urgency 'asap'"),
        (_with(channels=["pager"]), "channels must be"),
        (_with(audience="x"), "unknown keys ['audience']"),
    ],
)
def test_a_wrong_rule_is_refused_with_its_name_and_reason(document, message):
    with pytest.raises(RulesInvalid, match=rf"rule 1 \(ticket_received\).*{__import__('re').escape(message)}"):
        rules(document)


def test_a_rule_twice_or_unusable_defaults_are_refused():
    document = shipped()
    document["rules"].append(document["rules"][0])
    with pytest.raises(RulesInvalid, match="defined twice"):
        rules(document)
    with pytest.raises(RulesInvalid, match="trading_hours.opens"):
        rules({**shipped(), "defaults": {"trading_hours": {"opens": "eight"}}})
    with pytest.raises(RulesInvalid, match="unknown channels"):
        rules({**shipped(), "defaults": {"channels": {"merchant": ["pigeon"]}}})


def test_an_operator_file_replaces_the_shipped_one(tmp_path):
    document = shipped()
    document["rules"] = [r for r in document["rules"] if r["name"] == "honour_awarded"]
    document["defaults"]["trading_hours"] = {"opens": "09:30", "closes": "21:30"}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    loaded = Rules.load(path, TEMPLATES, HANDLED, SH)
    assert [r.name for r in loaded.rules] == ["honour_awarded"]
    assert str(loaded.policy.quiet_hours.end) == "09:30:00"
    with pytest.raises(RulesInvalid, match="cannot read the rules file"):
        Rules.load(tmp_path / "missing.yaml", TEMPLATES, HANDLED, SH)


def test_the_service_handles_exactly_the_events_its_shipped_rules_name_one_handler_each():
    named = {(rule.source, rule.event_type) for rule in rules().rules}
    assert set(subscriptions()) == named == HANDLED
    for source, event_type in named:
        handler = getattr(NotificationsService, f"handle_{source}_{event_type}")
        assert handler.handles == (source, event_type) and handler.__name__ == f"handle_{source}_{event_type}"
