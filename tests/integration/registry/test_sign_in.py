"""Signing in to the staff console over the broker, with nobody's token: the registry sends the code
through the notifications service (running beside it, on the same clock, its SMS gateway a local
stand-in), the person reads it in their inbox and exchanges it for a token that the services accept
as them. Wrong, expired and used codes, a merchant owner's mobile and the limits, as a caller sees
them."""

import re
from dataclasses import dataclass

import pytest

from alliance_platform.config import service_class
from alliance_platform.errors import Conflict, Unauthenticated
from alliance_platform.rpc import AllianceClient
from tests.integration.gateway.conftest import gateway  # noqa: F401  (the gateway in this process)
from tests.support.helpers import query, wait_until
from tests.support.http_sink import HttpSink
from tests.use_cases.registry.samples import merchant_fields, mobile, person_fields

ANSWER = {"sent": True, "expires_in_seconds": 300, "resend_after_seconds": 60}
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Console:
    """The registry, notifications beside it, and a caller who has no token yet."""

    registry: object
    notifications: object
    sms: HttpSink
    amqp_uri: str

    def anonymous(self):
        return AllianceClient(self.amqp_uri, None, timeout=10)

    def person(self, roles=("staff",), **fields):
        with self.registry.admin() as alliance:
            return alliance.registry.register_person(**person_fields(roles=list(roles), **fields))

    def request(self, phone, client=None):
        with self.anonymous() as alliance:
            return alliance.registry.request_sign_in_code(mobile=phone, client=client)

    def sign_in(self, phone, code):
        with self.anonymous() as alliance:
            return alliance.registry.sign_in(mobile=phone, code=code)

    def refused(self, phone, code, match):
        with pytest.raises(Unauthenticated, match=match):
            self.sign_in(phone, code)

    def inbox(self, person):
        """The person's inbox as they read it once signed in (a token of their own)."""
        with self.registry.as_("staff", ["staff"], [person["district_id"]], subject=person["person_id"]) as alliance:
            return alliance.notifications.list_inbox()["items"]

    def code(self, person):
        """The code in the newest message of the person's inbox."""
        (code,) = CODE.findall(self.inbox(person)[0]["body"])
        return code

    def sent_notifications(self):
        return query(self.notifications.config["DATABASE_URL"], "SELECT count(*) AS n FROM notifications")[0]["n"]


@pytest.fixture
def console(registry, container_factory, service_config, rabbit_config):
    sms = HttpSink()
    config = service_config(
        "notifications",
        CLOCK_OFFSET_FILE=str(registry.time.path),
        DISPATCH_INTERVAL=0.05,
        SMS_GATEWAY_URL=sms.url("/sms"),
        SMS_GATEWAY_API_KEY="test-gateway-key",
    )
    notifications = container_factory(service_class("notifications"), config)
    notifications.start()
    yield Console(registry, notifications, sms, rabbit_config["AMQP_URI"])
    sms.close()


def _wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_staff_member_signs_in_with_the_code_from_their_inbox_and_the_services_take_the_token(console):
    person = console.person(roles=["staff", "volunteer"], name="李晓梅")
    assert console.request(person["mobile"], client="198.51.100.7") == ANSWER
    (message,) = console.inbox(person)
    assert message["title"] == "工作台登录验证码" and "5分钟内有效" in message["body"]
    code = console.code(person)
    # The SMS goes out at once (urgent: not held for the quiet hours), within one message.
    (sms,) = wait_until(lambda: console.sms.received("/sms"), message="the sign-in SMS")
    assert sms.body["to"] == person["mobile"] and code in sms.body["text"] and len(sms.body["text"]) <= 70

    signed_in = console.sign_in(person["mobile"], code)
    assert {k: signed_in[k] for k in ("person_id", "name", "roles", "districts")} == {
        "person_id": person["person_id"],
        "name": "李晓梅",
        "roles": ["staff", "volunteer"],
        "districts": ["wholesale_city"],
    }
    # The token is theirs: the registry lets them search its people as staff of their district,
    # and the notifications service opens their own inbox to it.
    with AllianceClient(console.amqp_uri, signed_in["token"], timeout=10) as alliance:
        found = alliance.registry.search_people(mobile=person["mobile"])
        assert [p["person_id"] for p in found["items"]] == [person["person_id"]]
        assert [m["title"] for m in alliance.notifications.list_inbox()["items"]] == ["工作台登录验证码"]
    console.refused(person["mobile"], code, "used already")


def test_wrong_codes_count_down_to_a_lock_and_an_expired_code_is_refused(console):
    person = console.person(roles=["branch_secretary"])
    console.request(person["mobile"])
    code = console.code(person)
    for left in ("4 tries", "3 tries", "2 tries", "1 try"):
        console.refused(person["mobile"], _wrong(code), f"wrong code; {left} left")
    console.refused(person["mobile"], _wrong(code), "no tries left")
    console.refused(person["mobile"], code, "too many wrong codes")

    console.registry.time.advance(seconds=60)
    console.request(person["mobile"])  # a new code starts over
    code = console.code(person)
    console.registry.time.advance(minutes=5)
    console.refused(person["mobile"], code, "expired")


def test_a_merchant_owner_gets_the_same_answer_no_code_and_no_sign_in(console):
    owner = console.person(roles=[])
    with console.registry.admin() as alliance:
        alliance.registry.register_merchant(**merchant_fields(owner_id=owner["person_id"]))
        assert alliance.registry.get_person(person_id=owner["person_id"])["roles"] == ["merchant_owner"]
    assert console.request(owner["mobile"], client="198.51.100.8") == ANSWER
    assert console.request(mobile()) == ANSWER  # nobody's mobile: the same
    assert console.sent_notifications() == 0 and console.sms.received() == []
    console.refused(owner["mobile"], "123456", "wrong code; 4 tries left")  # as for anyone's


def test_codes_are_limited_per_mobile_and_per_client(console):
    phone = console.person()["mobile"]
    console.request(phone)
    with pytest.raises(Conflict, match="too many codes; try again in 1 minute"):
        console.request(phone)
    for _ in range(2):
        console.registry.time.advance(seconds=60)
        console.request(phone)
    console.registry.time.advance(seconds=60)
    with pytest.raises(Conflict, match="too many codes; try again in 7 minutes"):
        console.request(phone)

    for _ in range(30):
        console.request(mobile(), client="203.0.113.9")
    with pytest.raises(Conflict, match="too many codes; try again in 10 minutes"):
        console.request(mobile(), client="203.0.113.9")
    assert console.request(mobile(), client="203.0.113.10") == ANSWER
    assert console.sent_notifications() == 3  # the staff member's three codes; nobody else's mobile


def test_over_http_both_are_served_without_a_token(console, gateway):  # noqa: F811
    gw = gateway()
    person = console.person()
    sent = gw.request("POST", "/v1/sign-in/codes", token="", json={"mobile": person["mobile"]})
    assert (sent.status_code, sent.json()) == (200, ANSWER)
    wrong = gw.request("POST", "/v1/sign-in", token="", json={"mobile": person["mobile"], "code": "12345x"})
    assert wrong.status_code == 400 and "code" in wrong.json()["errors"]
    code = console.code(person)
    refused = gw.request("POST", "/v1/sign-in", token="", json={"mobile": person["mobile"], "code": _wrong(code)})
    assert refused.status_code == 401 and "4 tries left" in refused.json()["detail"]
    signed_in = gw.request("POST", "/v1/sign-in", token="", json={"mobile": person["mobile"], "code": code})
    assert signed_in.status_code == 200, signed_in.text
    mine = gw.request("GET", f"/v1/people/{person['person_id']}", token=signed_in.json()["token"])
    assert mine.status_code == 200 and mine.json()["mobile"] == person["mobile"]
    # The answer held a token: it is kept nowhere, and a retry with the same key is not answered
    # from a stored copy (the code is used: a new one is needed).
    stored = query(console.registry.database, "SELECT result FROM command_answers WHERE method = 'sign_in'")
    assert stored == []
    again = gw.request(
        "POST",
        "/v1/sign-in",
        token="",
        json={"mobile": person["mobile"], "code": code},
        headers={"Idempotency-Key": "k1"},
    )
    assert again.status_code == 401 and "used" in again.json()["detail"]
