"""A checklist copied from the category's steps and ticked item by item; a poor rating's follow-up call."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.errors import ValidationError
from alliance_tickets.domain.checklists import new_checklist, tick
from alliance_tickets.domain.follow_up import follow_up_call
from alliance_tickets.domain.working_time import WorkingCalendar

STEPS = [{"item": "核对营业执照", "documents": ["营业执照副本"]}, {"item": "协助办理"}]


def test_a_checklist_numbers_the_steps_from_one_undone():
    assert new_checklist(STEPS) == [
        {"id": 1, "item": "核对营业执照", "documents": ["营业执照副本"], "done": False},
        {"id": 2, "item": "协助办理", "documents": [], "done": False},
    ]


def test_ticking_marks_one_item_and_an_unknown_item_names_the_field():
    items, text = tick(new_checklist(STEPS), 2, True, "DM-2026-000001")
    assert [i["done"] for i in items] == [False, True] and text == "协助办理"
    with pytest.raises(ValidationError) as refused:
        tick(items, 9, True, "DM-2026-000001")
    assert "item_id" in refused.value.fields


def test_a_follow_up_call_is_due_a_working_day_later_in_the_centres_local_time():
    friday_afternoon = datetime(2026, 12, 4, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    call = follow_up_call(WorkingCalendar(), friday_afternoon, 2)
    assert call.due_at == datetime(2026, 12, 7, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Monday
    assert call.note == "满意度评分2分：请于12月7日 16:00前回访商户"
