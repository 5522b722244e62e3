"""The staff console as a person uses it, in headless Chromium against the gateway and the four
services in this process: signing in with the one-time code the inbox got, a demand taken from the
queue to resolved, a person checked in at an activity on a phone-width page, the register searched;
and what is refused with a clear page and nothing changed — a wrong or expired code, another
district's demand, a forged CSRF value. Screenshots at 390 and 1280 px go to the test's artifacts."""

import os
import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.integration.tickets.conftest import START
from tests.support.browser import CHROMIUM, FLAGS, artifacts, browser, fonts_rendering, page  # noqa: F401
from tests.support.helpers import wait_until

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WAIT = 20_000  # ms: a loaded 2-core machine


def _shots(page, folder, name):  # noqa: F811
    """The page at phone and desktop widths, whole; the desktop width left in place."""
    for label, size in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)


def _signed_in(console, page, token):  # noqa: F811
    page.context.add_cookies([console.cookie(token)])


def _code_from_inbox(console, person_id):
    """The one-time code the person's inbox got, read as they would (their own token)."""
    token = console.staff_token(person_id)

    def code():
        with console.services["notifications"].client(token) as me:
            for message in me.notifications.list_inbox()["items"]:
                found = re.search(r"\b(\d{6})\b", message["body"])
                if found:
                    return found.group(1)
        return None

    return wait_until(code, timeout=20, message="the sign-in code in the inbox")


def _ticket(console, ticket_id):
    with console.services["tickets"].admin() as admin:
        return admin.tickets.get_ticket(ticket_id=ticket_id)


def test_staff_sign_in_with_the_inbox_code_and_take_a_demand_from_the_queue_to_resolved(console, page, artifacts):  # noqa: F811
    person = console.person("王芳", "13900001111", teams=["government-liaisons"])
    merchant_id = console.merchant("鑫盛五金")
    ticket = console.demand(merchant_id, category="government_affairs", title="办理营业执照变更")

    page.goto(console.url)
    expect(page.get_by_role("heading", name="登录")).to_be_visible(timeout=WAIT)
    page.get_by_label("手机号").fill("13900001111")
    page.get_by_role("button", name="发送验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible(timeout=WAIT)
    page.get_by_label("验证码").fill(_code_from_inbox(console, person))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_text("欢迎，王芳")).to_be_visible(timeout=WAIT)
    cookie = next(c for c in page.context.cookies() if c["name"] == "alliance_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console"

    # My team's queue: the demand, marked with the time left before its first response is due.
    page.get_by_role("link", name="我的团队").click()
    row = page.locator(f"li[data-ticket='{ticket['ticket_id']}']")
    expect(row).to_contain_text("待受理", timeout=WAIT)
    expect(row.locator(".due")).to_contain_text("剩余")
    _shots(page, artifacts, "work-queue")
    row.get_by_role("link", name="办理营业执照变更").click()

    page.get_by_role("button", name="受理").click()
    expect(page.get_by_text("已受理，您是负责人。")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="开始办理").click()
    expect(page.locator("#ticket-status")).to_have_text("办理中", timeout=WAIT)

    # The checklist ticked through htmx (the page stays, the item changes).
    items = page.locator("ul.checklist button.tick")
    for n in range(items.count()):
        item = page.locator("ul.checklist li").nth(n)
        item.get_by_role("button").click()
        expect(item.get_by_role("button")).to_have_attribute("aria-pressed", "true", timeout=WAIT)

    # A note visible to the merchant; then a resolution that is only blanks: refused beside its field.
    page.locator("#notes-text").fill("材料已收到，正在核对。")
    page.get_by_label("商户可见").check()
    page.get_by_role("button", name="添加备注").click()
    expect(page.get_by_text("已添加备注。")).to_be_visible(timeout=WAIT)
    page.get_by_label("办理结果").fill("   ")
    page.get_by_role("button", name="办结").click()
    error = page.locator("#resolve-resolution-error")
    expect(error).to_have_text("请填写此项（不超过 4000 个字）。", timeout=WAIT)
    assert page.get_by_label("办理结果").get_attribute("aria-describedby") == "resolve-resolution-error"
    _shots(page, artifacts, "ticket-invalid")
    page.get_by_label("办理结果").fill("已为商户办结营业执照变更。")
    page.get_by_role("button", name="办结").click()
    expect(page.locator("#ticket-status")).to_have_text("已办结", timeout=WAIT)
    expect(page.locator("ol.timeline")).to_contain_text("材料已收到，正在核对。")
    _shots(page, artifacts, "ticket-resolved")
    assert _ticket(console, ticket["ticket_id"])["status"] == "resolved"

    # The inbox: the sign-in code's message unread, counted in the navigation; marked read.
    expect(page.locator("#unread-count")).to_be_visible()
    page.get_by_role("link", name=re.compile("^消息")).click()
    expect(page.locator("ul.inbox")).to_contain_text("工作台登录验证码", timeout=WAIT)
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.get_by_text(re.compile(r"\d+ 条已标为已读"))).to_be_visible(timeout=WAIT)
    expect(page.locator("#unread-count")).to_have_count(0)

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已退出。")).to_be_visible(timeout=WAIT)
    assert not [c for c in page.context.cookies() if c["name"] == "alliance_console"]


def test_a_wrong_code_and_an_expired_code_are_refused_beside_the_field(console, page):  # noqa: F811
    person = console.person("李强", "13900002222")
    page.goto(f"{console.url}/sign-in")
    page.get_by_label("手机号").fill("13900002222")
    page.get_by_role("button", name="发送验证码").click()
    code = _code_from_inbox(console, person)
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("验证码").fill(wrong)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#signin-code-error")).to_have_text("验证码错误，还可尝试 4 次。", timeout=WAIT)
    assert page.get_by_label("验证码").get_attribute("aria-invalid") == "true"
    console.services["registry"].time.advance(minutes=6)
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#signin-code-error")).to_have_text("验证码已过期，请重新获取。", timeout=WAIT)
    assert not [c for c in page.context.cookies() if c["name"] == "alliance_console"]


def test_another_districts_demand_and_a_forged_csrf_value_are_refused_and_nothing_changes(console, page):  # noqa: F811
    merchant_id = console.merchant("鑫盛五金")
    ticket = console.demand(merchant_id, category="government_affairs")
    elsewhere = console.person("赵敏", "13900003333", district="aodele")
    _signed_in(console, page, console.staff_token(elsewhere, districts=["aodele"], name="赵敏"))
    answer = page.goto(f"{console.url}/tickets/{ticket['ticket_id']}")
    assert answer.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "alliance_csrf")
    posted = page.request.post(f"{console.url}/tickets/{ticket['ticket_id']}/accept", form={"csrf_token": csrf})
    assert posted.status == 403
    assert _ticket(console, ticket["ticket_id"])["status"] == "submitted"

    here = console.person("王芳", "13900004444")
    _signed_in(console, page, console.staff_token(here))
    page.goto(f"{console.url}/tickets/{ticket['ticket_id']}")
    page.eval_on_selector_all("input[name=csrf_token]", "inputs => inputs.forEach(i => i.value = 'forged')")
    page.get_by_role("button", name="受理").click()
    expect(page.get_by_role("heading", name="请求被拒绝：表单已失效")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("未做任何更改")).to_be_visible()
    assert _ticket(console, ticket["ticket_id"])["status"] == "submitted"
    # The same through htmx (a checklist item ticked in place): the refusal replaces the page.
    page.goto(f"{console.url}/tickets/{ticket['ticket_id']}")
    page.eval_on_selector_all("input[name=csrf_token]", "inputs => inputs.forEach(i => i.value = 'forged')")
    page.locator("ul.checklist button.tick").first.click()
    expect(page.get_by_role("heading", name="请求被拒绝：表单已失效")).to_be_visible(timeout=WAIT)
    assert not any(item["done"] for item in _ticket(console, ticket["ticket_id"])["checklist"])
    timeline = console.services["tickets"].client()
    with timeline as admin:
        assert [e["kind"] for e in admin.tickets.timeline(ticket_id=ticket["ticket_id"])] == ["submitted"]


def _activity(console):
    """A published themed promotion of the outlets district a week after START; its id."""
    starts = START + timedelta(days=7)
    with console.services["events"].admin() as admin:
        created = admin.events.create_activity(
            title="端午亲子露营节",
            type="themed_promotion",
            description="三大商圈联合举办的主题消费活动。",
            organisers=["outlets"],
            venue="德百奥莱广场中庭",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=8)).isoformat(),
            registration_opens_at=START.isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=1,
            audience={"kinds": ["party_members"], "districts": []},
            theme_tags=["亲子"],
        )
        admin.events.publish_activity(activity_id=created["activity_id"])
    return created["activity_id"]


def test_a_volunteer_at_the_door_checks_a_person_in_on_a_phone(console, page, artifacts):  # noqa: F811
    activity_id = _activity(console)
    events = console.services["events"]
    registrant = console.person("周杰", "13900008888", roles=(), district="outlets")
    with events.as_("staff", ["party_member"], ["outlets"], subject=registrant) as member:
        seat = member.events.register(activity_id=activity_id)
    with events.as_("staff", ["party_member"], ["outlets"], subject="member-2") as member:
        member.events.register(activity_id=activity_id)  # the only seat is taken: waiting
    organiser = console.person("孙丽", "13900005555", district="outlets")
    _signed_in(console, page, console.staff_token(organiser, districts=["outlets"], name="孙丽"))

    page.goto(f"{console.url}/activities")
    page.get_by_role("link", name="下一周").click()
    page.get_by_role("link", name="端午亲子露营节").click()
    expect(page.get_by_role("heading", name="候补名单")).to_be_visible(timeout=WAIT)
    expect(page.locator("table.roster")).to_contain_text("周杰")  # the registry's name for the registrant
    expect(page.locator("ol.waiting")).to_contain_text("member-2")  # someone the registry does not know
    _shots(page, artifacts, "activity")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="签到").click()
    page.get_by_label("签到码").fill("NOSUCH")
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#checkin-code-error")).to_contain_text("签到码 NOSUCH", timeout=WAIT)
    page.get_by_label("签到码").fill(seat["check_in_code"].lower())
    page.keyboard.press("Enter")
    expect(page.get_by_text("签到成功：周杰")).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(artifacts / "check-in-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the check-in page scrolls sideways on a phone ({width} px)"
    page.get_by_label("签到码").fill(seat["check_in_code"])
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#checkin-code-error")).to_contain_text("已签到", timeout=WAIT)
    with events.admin() as admin:
        roster = admin.events.list_registrations(activity_id=activity_id)
    assert sorted(r["status"] for r in roster) == ["attended", "waitlisted"]
    # After the event (the console's clock is the tickets service's): its attendance.
    console.services["tickets"].time.advance(days=8)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{console.url}/activities/{activity_id}")
    expect(page.locator("#attended-count")).to_have_text("1", timeout=WAIT)


def test_the_register_is_searched_by_a_chinese_name_fragment(console, page, artifacts):  # noqa: F811
    with console.admin() as admin:
        owner = admin.registry.register_person(
            name="陈建国", mobile="13900006666", id_card_no="371402198001011234", district_id="wholesale_city"
        )
        admin.registry.register_party_member(
            person_id=owner["person_id"], branch_id="branch_wholesale_city", joined_on="2010-07-01"
        )
    merchant_id = console.merchant("鑫盛五金商行", owner_id=owner["person_id"])
    with console.admin() as admin:
        admin.registry.award_honour(
            merchant_id=merchant_id, kind="party_member_model_store", year=2026, reason="诚信经营"
        )
        admin.registry.start_pairing(person_id=owner["person_id"], merchant_id=merchant_id, note="帮助开网店")
    ticket = console.demand(merchant_id, title="咨询消防验收")
    staff = console.person("王芳", "13900007777")
    _signed_in(console, page, console.staff_token(staff))

    page.goto(f"{console.url}/register")
    # By keyboard: the first Tab reaches the skip link, which leads to the page's content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    # Chinese drawn with a CJK font the CSS names (Debian's fonts-wqy-microhei here), not boxes.
    families = {f["familyName"] for f in fonts_rendering(page, "h1") if f["glyphCount"]}
    assert families & {"WenQuanYi Micro Hei", "Noto Sans CJK SC", "PingFang SC"}, families
    page.get_by_label("名称").fill("鑫盛")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="鑫盛五金商行")).to_be_visible(timeout=WAIT)
    page.get_by_label("名称").fill("建国")
    page.keyboard.press("Enter")
    row = page.locator("table.people tbody tr").first
    expect(row).to_contain_text("陈建国", timeout=WAIT)
    assert "371402198001011234" not in page.content()  # masked as the registry returns it
    _shots(page, artifacts, "register")

    page.get_by_label("名称").fill("鑫盛")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="鑫盛五金商行").click()
    expect(page.get_by_role("heading", name="鑫盛五金商行")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("党员示范店")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("咨询消防验收"))).to_be_visible()
    expect(page.locator("section[aria-labelledby=h-pairing]")).to_contain_text("陈建国")  # the member paired
    expect(page.locator("section[aria-labelledby=h-pairing]")).to_contain_text("帮助开网店")
    expect(page.locator("section[aria-labelledby=h-mactivities]")).to_contain_text("没有报名")
    assert ticket["reference"] in page.content()
    page.get_by_role("link", name="English").click()  # kept in a cookie for the next pages
    expect(page.get_by_role("heading", name="Honours")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Party-member model store")).to_be_visible()
    page.get_by_role("link", name="Register", exact=True).click()
    expect(page.get_by_label("Name (or part of it)")).to_be_visible(timeout=WAIT)
    assert page.evaluate("document.documentElement.lang") == "en"


def test_chinese_renders_in_a_browser_without_cjk_fonts_with_the_consoles_own(console, browser, tmp_path, artifacts):  # noqa: F811
    """A Chromium whose fontconfig knows only DejaVu (no Chinese glyphs at all) draws the console's
    Chinese with the CJK web font the gateway serves."""
    (tmp_path / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    bare = browser.browser_type.launch(
        executable_path=CHROMIUM, args=FLAGS, env={**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")}
    )
    try:
        context = bare.new_context(locale="zh-CN", viewport=DESKTOP)
        page = context.new_page()
        page.goto(f"{console.url}/sign-in")
        loaded = page.evaluate("""async () => (await document.fonts.load('16px "Console CJK"', '登录')).length""")
        assert loaded, "the console's CJK web font did not load"
        for selector in ("h1", "p", "label", "button"):  # every Chinese character of each, in the web font
            chinese = len(re.findall(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", page.inner_text(selector)))
            drawn = sum(f["glyphCount"] for f in fonts_rendering(page, selector) if f["isCustomFont"])
            assert chinese and drawn >= chinese, (selector, chinese, fonts_rendering(page, selector))
        page.screenshot(path=str(artifacts / "sign-in-without-system-cjk-fonts.png"))
    finally:
        bare.close()
