"""Templates fail when they load, never as a blank message: every template is rendered against
every documented example of its event contract, in zh-CN and English, with the SMS in its limit."""

import shutil
from zoneinfo import ZoneInfo

import pytest

from alliance_contracts import get_contract
from alliance_notifications.domain.templates import LANGUAGES, Templates, TemplatesInvalid, fit_sms
from alliance_notifications.settings import DEFAULT_TEMPLATES

SH = ZoneInfo("Asia/Shanghai")
SIGNATURE = "【红星德百】"


def load(folder=DEFAULT_TEMPLATES, limit=70):
    return Templates(folder, SH, sms_limit=limit, sms_signature=SIGNATURE)


@pytest.fixture
def folder(tmp_path):
    """A copy of the shipped templates to break one at a time."""
    copy = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, copy)
    return copy


def test_every_shipped_template_renders_every_documented_example_in_both_languages():
    templates = load()
    for name, template in templates.templates.items():
        for source, event_type in template.events:
            contract = get_contract(source, event_type)
            for example in contract.examples:
                content = templates.render(name, contract.schema.load(example))
                assert set(content) == set(LANGUAGES)
                for language, parts in content.items():
                    assert all(parts[p].strip() for p in ("title", "body", "sms", "robot")), (name, language)
                    assert len(SIGNATURE + parts["sms"]) <= 70, (name, language, parts["sms"])
                    assert "None" not in parts["body"], (name, language, parts["body"])


def test_dates_are_local_and_codes_read_as_words():
    templates = load()
    contract = get_contract("tickets", "ticket_submitted")
    content = templates.render("ticket_received", contract.schema.load(contract.examples[0]))
    # resolution_due_at 2026-03-09T02:15Z is 10:15 in Dezhou.
    assert "3月9日 10:15" in content["zh-CN"]["sms"] and "9 Mar 10:15" in content["en"]["sms"]
    assert "银企对接" in content["zh-CN"]["body"] and "bank financing" in content["en"]["body"]


def test_a_seat_offer_names_its_deadline_and_its_end_says_why_it_ended():
    templates = load()
    offered = get_contract("events", "seat_offered")
    content = templates.render("seat_offered", offered.schema.load(offered.examples[0]))
    # expires_at 2026-04-02T03:00Z is 11:00 in Dezhou.
    assert "请在4月2日 11:00前确认" in content["zh-CN"]["body"] and "4月2日 11:00" in content["zh-CN"]["sms"]
    assert "before 2 Apr 11:00" in content["en"]["body"]
    expired = get_contract("events", "offer_expired")
    lapsed, closed = (templates.render("offer_expired", expired.schema.load(e)) for e in expired.examples)
    assert "顺延给下一位候补" in lapsed["zh-CN"]["body"] and lapsed["zh-CN"]["title"].startswith("候补名额已失效")
    # Offers go on after registration closed; the activity's start ends them.
    assert "候补名额随之失效" in closed["zh-CN"]["body"] and closed["zh-CN"]["title"].startswith("活动已开始")
    assert "has started" in closed["en"]["body"]


def test_a_variable_the_event_does_not_carry_fails_at_load(folder):
    path = folder / "ticket_received.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{{ reference }}", "{{ referense }}", 1), encoding="utf-8")
    with pytest.raises(TemplatesInvalid, match=r"ticket_received.yaml zh-CN.title uses \['referense'\]"):
        load(folder)


def test_a_missing_attribute_fails_at_load_on_the_examples(folder):
    path = folder / "activity_published.yaml"
    text = path.read_text(encoding="utf-8").replace("{{ venue }}", "{{ audience.hall }}", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplatesInvalid, match="has no attribute 'hall'"):
        load(folder)


def test_an_sms_over_the_limit_fails_at_load(folder):
    with pytest.raises(TemplatesInvalid, match=r"sms is \d+ characters with the signature .* the limit is 30"):
        load(folder, limit=30)


def test_a_syntax_error_or_a_missing_part_or_language_fails_at_load(folder):
    (folder / "broken.yaml").write_text(
        "events: [tickets.ticket_resolved]\nzh-CN:\n  title: '{{ reference'\n  body: b\n  sms: s\n"
        "en: {title: t, body: b, sms: s}\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplatesInvalid, match="broken.yaml zh-CN.title"):
        load(folder)
    (folder / "broken.yaml").write_text(
        "events: [tickets.ticket_resolved]\nzh-CN: {title: t, body: b}\n", encoding="utf-8"
    )
    with pytest.raises(TemplatesInvalid, match=r"missing parts \['sms'\]"):
        load(folder)
    (folder / "broken.yaml").write_text("events: [tickets.no_such_event]\n", encoding="utf-8")
    with pytest.raises(TemplatesInvalid, match="no event contract"):
        load(folder)


def test_send_templates_are_checked_against_their_example():
    templates = load()
    content = templates.render("announcement", {"heading": "停水通知", "text": "明日停水"})
    assert content["zh-CN"]["sms"] == "停水通知：明日停水"


def test_long_sms_texts_are_cut_to_one_message_with_an_ellipsis():
    assert fit_sms("短信\n内容", 70, SIGNATURE) == "短信 内容"
    cut = fit_sms("活" * 100, 70, SIGNATURE)
    assert len(SIGNATURE + cut) == 70 and cut.endswith("…")
    assert load().literal("标题", "长" * 200)["zh-CN"]["sms"].endswith("…")
