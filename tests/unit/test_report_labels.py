"""The monthly report shows every code the services use by a Chinese label, and the same label the
service itself gives the code where it has one."""

from alliance_contracts.registry import HONOUR_KINDS
from alliance_events.domain.activity import TYPES
from alliance_notifications.domain.deliveries import CHANNELS
from alliance_ops.report import DELIVERY_STATES, LABELS, label
from alliance_tickets.domain.sla import CATEGORIES


def test_demand_categories_and_activity_types_have_the_services_own_chinese_names():
    assert {code: LABELS.get(code) for code in CATEGORIES} == CATEGORIES
    assert {code: LABELS.get(code) for code in TYPES} == TYPES


def test_every_district_honour_channel_and_delivery_state_has_a_chinese_label():
    codes = ["wholesale_city", "aodele", "outlets", *HONOUR_KINDS, *CHANNELS, *DELIVERY_STATES]
    unlabelled = [code for code in codes if not any("\u4e00" <= ch <= "\u9fff" for ch in label(code))]
    assert not unlabelled


def test_a_code_without_a_label_is_shown_as_it_is():
    assert label("something_new") == "something_new"
