"""Escalation chains: when step k of an unread inbox message is due (working minutes on the
centre's calendar, then the recipient's quiet hours unless urgent or an SLA breach), that reading
stops it, and that a chain the service cannot follow stops it from starting."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import yaml

from alliance_notifications.domain import escalation
from alliance_notifications.domain.escalation import SEND, SKIP_READ, WAIT, Step
from alliance_notifications.domain.rules import RulesInvalid
from alliance_notifications.domain.timing import QuietHours
from alliance_notifications.service import SUBSCRIPTIONS
from alliance_notifications.settings import Settings
from alliance_platform.config import load_config
from alliance_platform.working_time import WorkingCalendar
from tests.unit.notifications.test_rules import rules, shipped

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar(timezone=SH, opens=time(8, 30), closes=time(17, 30), holidays=frozenset({date(2026, 6, 19)}))
TRADING = QuietHours(start=time(21, 0), end=time(8, 0))  # quiet 21:00-08:00
LUNCH = QuietHours(start=time(12, 0), end=time(14, 0))  # a person's own quiet hours
WECOM_30, SMS_120 = Step(30, "wecom"), Step(120, "sms")


def at(day, hour, minute=0):
    return datetime(2026, 6, day, hour, minute, tzinfo=SH)


def due(written, step, quiet=TRADING, urgent=False):
    return escalation.due_at(written, step, CALENDAR, quiet, SH, urgent)


@pytest.mark.parametrize(
    "written, step, expected",
    [
        (at(2, 10), WECOM_30, at(2, 10, 30)),  # Tuesday morning: 30 minutes later
        (at(2, 10), SMS_120, at(2, 12)),
        (at(2, 17, 15), WECOM_30, at(3, 8, 45)),  # the night does not count: 15 min today, 15 tomorrow
        (at(2, 20), WECOM_30, at(3, 9, 0)),  # written after closing: from the next opening
        (at(5, 17, 20), WECOM_30, at(8, 8, 50)),  # Friday evening: the weekend does not count
        (at(6, 11), WECOM_30, at(8, 9, 0)),  # written on Saturday
        (at(18, 17, 10), WECOM_30, at(22, 8, 40)),  # Thursday, the Dragon Boat holiday (Friday 19th), Monday
    ],
)
def test_a_step_is_due_after_its_working_minutes_on_the_centres_calendar(written, step, expected):
    assert due(written, step) == expected


def test_a_step_due_in_the_recipients_quiet_hours_waits_for_their_end_unless_urgent():
    assert due(at(2, 11, 45), WECOM_30, quiet=LUNCH) == at(2, 14, 0)
    assert due(at(2, 11, 45), WECOM_30, quiet=LUNCH, urgent=True) == at(2, 12, 15)
    assert due(at(2, 10), WECOM_30, quiet=LUNCH) == at(2, 10, 30)  # outside them: on time
    # A calendar open late (a centre open until 22:00) meets the trading hours' quiet night.
    late = WorkingCalendar(timezone=SH, opens=time(8, 30), closes=time(22, 0))
    assert escalation.due_at(at(2, 21), WECOM_30, late, TRADING, SH, False) == at(3, 8, 0)
    assert escalation.due_at(at(2, 21), WECOM_30, late, TRADING, SH, True) == at(2, 21, 30)


def test_urgent_messages_and_sla_breaches_escalate_through_quiet_hours():
    assert escalation.through_quiet_hours("urgent", "events", "seat_offered")
    assert escalation.through_quiet_hours("normal", "tickets", "ticket_overdue")
    assert escalation.through_quiet_hours("normal", "tickets", "ticket_escalated")
    assert not escalation.through_quiet_hours("normal", "tickets", "supervision_reminded")
    assert not escalation.through_quiet_hours("low", "events", "activity_published")


@pytest.mark.parametrize(
    "read_at, now, expected",
    [
        (None, at(2, 10, 29), WAIT),
        (None, at(2, 10, 30), SEND),
        (None, at(3, 9), SEND),  # late (the timer was down): sent still
        (at(2, 10, 10), at(2, 10, 5), WAIT),  # read "later" than now: not read yet at now
        (at(2, 10, 10), at(2, 10, 30), SKIP_READ),
        (at(2, 10, 10), at(2, 10, 20), SKIP_READ),  # read before it was due: never sent
    ],
)
def test_a_scheduled_step_is_skipped_once_read_sent_when_due_else_waits(read_at, now, expected):
    assert escalation.decide(read_at, at(2, 10, 30), now) == expected


def test_a_chain_is_its_steps_in_order():
    chain = escalation.parse_chain(
        [{"after_working_minutes": 30, "channel": "wecom"}, {"after_working_minutes": 120, "channel": "sms"}]
    )
    assert chain == (WECOM_30, SMS_120)


@pytest.mark.parametrize(
    "chain, message",
    [
        ([{"after_working_minutes": 30, "channel": "fax"}], "unknown channel 'fax'"),
        ([{"after_working_minutes": 30, "channel": "inbox"}], "unknown channel 'inbox'"),
        (
            [{"after_working_minutes": 120, "channel": "wecom"}, {"after_working_minutes": 30, "channel": "sms"}],
            "must be more than step 1's 120",
        ),
        (
            [{"after_working_minutes": 30, "channel": "wecom"}, {"after_working_minutes": 30, "channel": "sms"}],
            "must be more than step 1's 30",
        ),
        ([{"after_working_minutes": 0, "channel": "wecom"}], "positive number"),
        ([{"after_working_minutes": "30", "channel": "wecom"}], "positive number"),
        ([{"after": 30, "channel": "wecom"}], "exactly after_working_minutes and channel"),
        ([], "non-empty list"),
        ({"after_working_minutes": 30, "channel": "wecom"}, "non-empty list"),
    ],
)
def test_a_chain_the_service_cannot_follow_refuses_the_start_naming_the_rule(chain, message):
    document = shipped()
    document["rules"][0]["escalate"] = chain
    with pytest.raises(
        RulesInvalid, match=rf"rule 1 \(ticket_received\): escalate.*{__import__('re').escape(message)}"
    ):
        rules(document)


def test_a_staff_group_has_no_inbox_message_to_escalate():
    document = shipped()
    [unowned] = [r for r in document["rules"] if r["name"] == "ticket_overdue_unowned"]
    unowned["escalate"] = [{"after_working_minutes": 30, "channel": "sms"}]
    with pytest.raises(RulesInvalid, match=r"ticket_overdue_unowned.*a staff group has none"):
        rules(document)


def test_the_shipped_rules_escalate_an_overdue_demand_to_its_owner():
    rule = rules().by_name["ticket_overdue_to_owner"]
    assert rule.channels == ("inbox",)
    assert rule.escalate == (WECOM_30, SMS_120)
    assert rule.escalates_in_quiet_hours  # an SLA breach


def test_the_service_refuses_to_start_with_a_rules_file_whose_chain_it_cannot_follow(tmp_path):
    document = shipped()
    [overdue] = [r for r in document["rules"] if r["name"] == "ticket_overdue_to_owner"]
    overdue["escalate"] = [
        {"after_working_minutes": 30, "channel": "wecom"},
        {"after_working_minutes": 30, "channel": "pager"},
    ]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    config = {**load_config("notifications"), "NOTIFICATIONS_RULES_FILE": str(path)}
    with pytest.raises(RulesInvalid, match=r"ticket_overdue_to_owner\): escalate step 2: unknown channel 'pager'"):
        Settings.from_config(config, set(SUBSCRIPTIONS))
    overdue["escalate"][1]["channel"] = "sms"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesInvalid, match=r"escalate step 2: after_working_minutes 30 must be more than step 1's 30"):
        Settings.from_config(config, set(SUBSCRIPTIONS))
    with pytest.raises(RulesInvalid, match="WORKING_CALENDAR: the centre must close after it opens"):
        Settings.from_config(
            {**load_config("notifications"), "WORKING_CALENDAR": {"opens": "18:00", "closes": "08:00"}},
            set(SUBSCRIPTIONS),
        )
