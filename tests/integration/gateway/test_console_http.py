"""The console's session and CSRF rules over plain HTTP (requests, no browser): where a visitor
without a session is sent, the cookies' attributes, a POST without the form's CSRF value refused
before anything is called, an expired or forged token ending the session, the page headers."""

import time

import jwt
import requests

from tests.integration.tickets.conftest import START

SIGN_IN = "/console/sign-in"


def _cookie(response, name):
    """The Set-Cookie line of ``name`` (lower-cased attributes)."""
    for line in response.raw.headers.getlist("Set-Cookie"):
        if line.startswith(f"{name}="):
            return line
    raise AssertionError(f"no {name} cookie in {response.raw.headers.getlist('Set-Cookie')}")


def _browser(world, token=None):
    session = requests.Session()
    if token:
        session.cookies.set("alliance_console", token, domain="127.0.0.1", path="/console")
    session.get(world.url + "/sign-in", allow_redirects=False, timeout=15)  # the CSRF cookie, as a browser gets it
    return session


def test_without_a_session_the_console_sends_one_to_sign_in_with_safe_cookies(console):
    first = requests.get(console.url, allow_redirects=False, timeout=15)
    assert first.status_code == 303
    assert first.headers["Location"] == f"{SIGN_IN}?next=/console"
    page = requests.get(console.gateway.url + SIGN_IN, timeout=15)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in page.text and "手机号" in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    csrf = _cookie(page, "alliance_csrf").lower()
    assert "samesite=strict" in csrf and "httponly" in csrf and "path=/console" in csrf and "secure" not in csrf
    over_tls = requests.get(console.gateway.url + SIGN_IN, headers={"X-Forwarded-Proto": "https"}, timeout=15)
    assert "secure" in _cookie(over_tls, "alliance_csrf").lower()
    english = requests.get(console.gateway.url + SIGN_IN, headers={"Accept-Language": "en-GB,en;q=0.8"}, timeout=15)
    assert '<html lang="en">' in english.text and "Mobile number" in english.text
    chosen = requests.get(console.gateway.url + SIGN_IN + "?lang=en", timeout=15)
    assert "alliance_lang=en" in _cookie(chosen, "alliance_lang")
    htmx = requests.get(console.url + "/static/htmx.min.js", timeout=15)
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert requests.get(console.url + "/static/../config.yaml", timeout=15).status_code == 404
    font = requests.get(console.url + "/static/cjk-font", timeout=60)  # one face, cut out of its collection
    assert font.status_code == 200 and font.headers["Content-Type"] in ("font/ttf", "font/otf")
    assert font.headers["Content-Encoding"] == "gzip" and font.content[:4] in (b"\0\1\0\0", b"OTTO")
    lost = requests.get(console.url + "/tickets/not-a-ticket", timeout=15)
    assert lost.status_code == 404 and "未找到" in lost.text and lost.headers["Content-Type"].startswith("text/html")


def test_a_post_without_the_forms_csrf_value_is_refused_and_nothing_is_called(console):
    staff = console.person("王芳", "13900000001")
    merchant_id = console.merchant("鑫盛五金")
    ticket = console.demand(merchant_id)
    browser = _browser(console, console.staff_token(staff))
    url = f"{console.url}/tickets/{ticket['ticket_id']}/accept"
    for form in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        refused = browser.post(url, data=form, allow_redirects=False, timeout=15)
        assert refused.status_code == 403, refused.text
        assert "表单已失效" in refused.text and "未做任何更改" in refused.text
    # The right value in the header (htmx) but another site's POST has no cookie: refused too.
    stranger = requests.post(url, data={"csrf_token": browser.cookies["alliance_csrf"]}, timeout=15)
    assert stranger.status_code == 403
    with console.services["tickets"].admin() as admin:
        assert admin.tickets.get_ticket(ticket_id=ticket["ticket_id"])["status"] == "submitted"
    accepted = browser.post(url, data={"csrf_token": browser.cookies["alliance_csrf"]}, allow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["Location"] == f"/console/tickets/{ticket['ticket_id']}"
    with console.services["tickets"].admin() as admin:
        assert admin.tickets.get_ticket(ticket_id=ticket["ticket_id"])["status"] == "accepted"
    by_header = browser.post(
        f"{console.url}/tickets/{ticket['ticket_id']}/start",
        headers={"X-CSRF-Token": browser.cookies["alliance_csrf"]},
        allow_redirects=False,
        timeout=15,
    )
    assert by_header.status_code == 303


def test_an_expired_or_forged_token_ends_the_session(console):
    staff = console.person("王芳", "13900000002")
    expired = console.tokens.issue(
        staff, "staff", roles=["staff"], districts=["wholesale_city"], ttl=60, now=time.time() - 120
    )
    browser = _browser(console, expired)
    answer = browser.get(console.url + "/activities", allow_redirects=False, timeout=15)
    assert answer.status_code == 303 and answer.headers["Location"].startswith(SIGN_IN)
    assert "alliance_console=;" in _cookie(answer, "alliance_console") or "Max-Age=0" in _cookie(
        answer, "alliance_console"
    )
    page = browser.get(console.gateway.url + answer.headers["Location"], timeout=15)
    assert "登录已过期" in page.text
    # Signed with a secret the services do not have: the gateway cannot tell, the tickets service can.
    claims = jwt.decode(console.staff_token(staff), options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-not-the-secret-32b", algorithm="HS256")
    browser = _browser(console, forged)
    answer = browser.get(console.url, allow_redirects=False, timeout=15)
    assert answer.status_code == 303 and answer.headers["Location"] == SIGN_IN
    assert "Max-Age=0" in _cookie(answer, "alliance_console")


def test_a_session_cookie_lives_as_long_as_its_token_and_sign_out_clears_it(console):
    staff = console.person("王芳", "13900000003")
    browser = _browser(console, console.staff_token(staff))
    work = browser.get(console.url, timeout=15)
    assert work.status_code == 200 and "我的工作" in work.text and "王芳" in work.text
    out = browser.post(
        console.url + "/sign-out", data={"csrf_token": browser.cookies["alliance_csrf"]}, allow_redirects=False
    )
    assert out.status_code == 303 and "Max-Age=0" in _cookie(out, "alliance_console")
    assert START  # the services' clocks are at START; tokens live in real time


def _post(browser, url, **form):
    """A console form posted as the browser would (its CSRF value), the page it leads to."""
    return browser.post(url, data={"csrf_token": browser.cookies["alliance_csrf"], **form}, timeout=15)


def test_every_action_of_a_demands_page_reaches_the_tickets_service(console):
    staff = console.person("王芳", "13900000011")
    merchant_id = console.merchant("鑫盛五金")
    ticket = console.demand(merchant_id)
    ticket_id = ticket["ticket_id"]
    url = f"{console.url}/tickets/{ticket_id}"
    browser = _browser(console, console.staff_token(staff))

    def status():
        with console.services["tickets"].admin() as admin:
            return admin.tickets.get_ticket(ticket_id=ticket_id)

    # A reassignment asks for its reason: left blank, it is refused beside that field, nothing changes.
    blank = _post(browser, f"{url}/assign", assignee_id=staff, reason=" ")
    assert blank.status_code == 400
    assert 'id="assign-reason-error"' in blank.text and 'aria-describedby="assign-reason-error"' in blank.text
    assert status()["responsible"] is None
    assert "已改派" in _post(browser, f"{url}/assign", assignee_id=staff, reason="熟悉银企对接").text
    assert status()["responsible"]["person_id"] == staff
    for action, form, expected, said in (
        ("start", {}, "in_progress", "已开始办理"),
        ("request-info", {"text": "请补充近三个月流水。"}, "waiting_on_merchant", "计时暂停"),
    ):
        page = _post(browser, f"{url}/{action}", **form)
        assert page.status_code == 200 and said in page.text, page.text
        assert status()["status"] == expected
    with console.services["tickets"].merchant(merchant_id) as shop:
        shop.tickets.provide_info(ticket_id=ticket_id, text="流水已上传。")
    assert "已转办" in _post(browser, f"{url}/refer", partner="德州银行", note="").text
    assert status()["partner"] == "德州银行"
    assert "已记录转办回复" in _post(browser, f"{url}/partner-reply", text="银行已受理。").text
    assert status()["status"] == "in_progress"
    internal = _post(browser, f"{url}/notes", text="内部备注")
    assert "已添加备注" in internal.text
    task = _post(browser, f"{url}/tasks", unit="aodele", title="协助核实经营场所", description="请澳德乐商圈协助。")
    assert "已添加协办任务" in task.text
    child = status()["children"][0]
    refused = _post(browser, f"{console.url}/tickets/{child['ticket_id']}/refuse", reason="不在本商圈范围")
    assert refused.status_code == 200 and "已拒绝协办任务" in refused.text, refused.text
    conflict = _post(browser, f"{url}/accept")  # accepted long ago: a conflict, said on the page
    assert conflict.status_code == 200 and "flash-error" in conflict.text
    assert status()["status"] == "in_progress"
    with console.services["tickets"].admin() as admin:
        kinds = [e["kind"] for e in admin.tickets.timeline(ticket_id=ticket_id)]
    assert kinds.count("note") == 1 and "reassignment" in kinds and "child_task" in kinds


def test_a_demand_is_referred_to_a_partner_organisation_chosen_from_the_register(console):
    """The refer form offers the registry's active partners that have a liaison (who is told);
    a partner outside the register is still named in free text; naming neither is refused beside
    the form and changes nothing."""
    staff = console.person("王芳", "13900000021")
    liaison = console.person("李红", "13900000022", roles=("department_liaison",))
    with console.admin() as admin:
        for organisation_id, liaisons in (("dezhou_bank_tianqu", [liaison]), ("bank_without_liaison", [])):
            admin.registry.add_organisation(
                organisation_id=organisation_id,
                type="bank",
                name=f"{organisation_id}银行",
                short_name="银行",
                liaison_ids=liaisons,
            )
    console._known("organisation_directory", "organisation_id", "dezhou_bank_tianqu")
    merchant_id = console.merchant("鑫盛五金")
    ticket_id = console.demand(merchant_id)["ticket_id"]
    url = f"{console.url}/tickets/{ticket_id}"
    browser = _browser(console, console.staff_token(staff))
    for action in ("accept", "start"):
        assert _post(browser, f"{url}/{action}").status_code == 200
    page = browser.get(url, timeout=15).text
    assert 'name="partner_id"' in page and '<option value="dezhou_bank_tianqu">' in page
    assert "bank_without_liaison" not in page and "branch_outlets" not in page, "only partners with a liaison"

    neither = _post(browser, f"{url}/refer", partner_id="", partner="", note="")
    assert neither.status_code == 400 and "refer-form-error" in neither.text
    with console.services["tickets"].admin() as admin:
        assert admin.tickets.get_ticket(ticket_id=ticket_id)["status"] == "in_progress"
    assert "已转办" in _post(browser, f"{url}/refer", partner_id="dezhou_bank_tianqu", partner="", note="").text
    with console.services["tickets"].admin() as admin:
        referred = admin.tickets.get_ticket(ticket_id=ticket_id)
    assert (referred["status"], referred["partner_id"], referred["partner"]) == (
        "referred",
        "dezhou_bank_tianqu",
        "dezhou_bank_tianqu银行",
    )
