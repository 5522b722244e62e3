"""Signing in by one-time code on a real session: the code sent to a person who may sign in (and to
nobody else, with the same answer), its life, its tries, its single use, the limits per mobile and
per client, and the token it is exchanged for. ``send`` is a hand-written stand-in for
notifications.send that keeps what it was asked to send."""

import time
from datetime import timedelta

import pytest

from alliance_platform.entrypoints import load_arguments
from alliance_platform.errors import Conflict, ServiceUnavailable, Unauthenticated
from alliance_registry import timers, use_cases
from alliance_registry.service import RegistryService

from .conftest import SETTINGS
from .samples import merchant_fields, mobile, person_fields

ANSWER = {"sent": True, "expires_in_seconds": 300, "resend_after_seconds": 60}


class Notifications:
    """What notifications.send was asked to send; ``failing`` makes it fail as an absent service."""

    def __init__(self):
        self.sent = []
        self.failing = False

    def send(self, **message):
        if self.failing:
            raise ServiceUnavailable("notifications.send: no instance of notifications is running")
        self.sent.append(message)
        return {"notification_id": len(self.sent), "status": "resolved"}

    def code(self):
        return self.sent[-1]["variables"]["code"]


class SignIn:
    """The two use cases on ``register``'s session and clock, called by nobody in particular."""

    def __init__(self, register):
        self.register = register
        self.notifications = Notifications()

    def request(self, phone, client=None, after=None):
        if after is not None:
            self.register.now += timedelta(seconds=after)
        schema = RegistryService.request_sign_in_code.rpc_schema
        cmd = load_arguments(schema, (), {"mobile": phone, "client": client})
        return self.register.run(use_cases.request_sign_in_code, cmd, self.notifications.send)

    def sign_in(self, phone, code):
        return self.register(use_cases.sign_in, caller=None, mobile=phone, code=code)

    def refused(self, phone, code, match):
        with pytest.raises(Unauthenticated, match=match):
            self.sign_in(phone, code)

    def code_row(self, phone):
        (row,) = self.register.db("SELECT * FROM sign_in_codes WHERE mobile = %s", (phone,))
        return row


@pytest.fixture
def signing(register):
    return SignIn(register)


def _person(register, **fields):
    return register(use_cases.register_person, **person_fields(**fields))


def _wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_staff_member_gets_a_code_by_sms_and_inbox_and_exchanges_it_for_a_token(signing, register):
    person = _person(register, roles=["staff", "volunteer"], name="李晓梅")
    assert signing.request(person["mobile"], client="198.51.100.7") == ANSWER
    (message,) = signing.notifications.sent
    code = message.pop("variables")["code"]
    assert len(code) == 6 and code.isdigit()
    assert message == {
        "idempotency_key": message["idempotency_key"],
        "person_ids": [person["person_id"]],
        "template": "sign_in_code",
        "category": "account_security",
        "urgency": "urgent",
        "channels": ["sms", "inbox"],
    }
    stored = signing.code_row(person["mobile"])
    assert str(stored["person_id"]) == person["person_id"]
    assert bytes(stored["code_digest"]) == SETTINGS.sign_in.digest(person["mobile"], code, stored["salt"])
    assert code not in str(register.db("SELECT * FROM sign_in_codes"))  # kept only as its keyed hash
    assert stored["expires_at"] == register.now + timedelta(minutes=5)

    signed_in = signing.sign_in(person["mobile"], code)
    assert {k: signed_in[k] for k in ("person_id", "name", "roles", "districts")} == {
        "person_id": person["person_id"],
        "name": "李晓梅",
        "roles": ["staff", "volunteer"],
        "districts": ["wholesale_city"],
    }
    identity = SETTINGS.tokens.verify(signed_in["token"])
    assert (identity.subject, identity.kind, identity.name) == (person["person_id"], "staff", "李晓梅")
    assert identity.roles == {"staff", "volunteer"} and identity.districts == {"wholesale_city"}
    # Eight hours from now on the real clock, which every service checks tokens against.
    assert abs(signed_in["expires_at"].timestamp() - (time.time() + 8 * 3600)) < 60
    assert signing.code_row(person["mobile"])["used_at"] == register.now
    signing.refused(person["mobile"], code, "used already")


def test_a_wrong_code_counts_a_try_and_five_lock_the_code(signing, register):
    person = _person(register, roles=["branch_secretary"])
    signing.request(person["mobile"])
    code = signing.notifications.code()
    for left in ("4 tries", "3 tries", "2 tries", "1 try"):
        signing.refused(person["mobile"], _wrong(code), f"wrong code; {left} left")
    signing.refused(person["mobile"], _wrong(code), "no tries left")
    assert signing.code_row(person["mobile"])["tries"] == 5  # kept though each try was refused
    signing.refused(person["mobile"], code, "too many wrong codes")
    assert signing.code_row(person["mobile"])["tries"] == 5 and signing.code_row(person["mobile"])["used_at"] is None
    # A new code starts over.
    signing.request(person["mobile"], after=60)
    assert signing.sign_in(person["mobile"], signing.notifications.code())["person_id"] == person["person_id"]


def test_a_code_expires_after_five_minutes(signing, register):
    person = _person(register, roles=["staff"])
    signing.request(person["mobile"])
    code = signing.notifications.code()
    register.now += timedelta(minutes=5)
    signing.refused(person["mobile"], code, "expired")
    signing.refused(person["mobile"], _wrong(code), "expired")
    assert signing.code_row(person["mobile"])["tries"] == 0  # nothing else changes
    register.now -= timedelta(seconds=1)
    assert signing.sign_in(person["mobile"], code)["person_id"] == person["person_id"]


def test_a_new_code_replaces_the_previous_one(signing, register):
    person = _person(register, roles=["staff"])
    signing.request(person["mobile"])
    first = signing.notifications.code()
    signing.refused(person["mobile"], _wrong(first), "4 tries left")
    signing.request(person["mobile"], after=60)
    second = signing.notifications.code()
    if first != second:  # one chance in a million that they are the same
        signing.refused(person["mobile"], first, "wrong code; 4 tries left")  # the tries start over too
    assert signing.sign_in(person["mobile"], second)["person_id"] == person["person_id"]
    assert register.count("sign_in_codes") == 1


def test_a_merchant_owner_or_a_stranger_gets_the_same_answer_and_no_code(signing, register):
    owner = _person(register, roles=[])
    register(use_cases.register_merchant, **merchant_fields(owner_id=owner["person_id"]))
    assert register.db("SELECT roles FROM people WHERE id = %s", (owner["person_id"],))[0]["roles"] == [
        "merchant_owner"
    ]
    stranger = mobile()
    assert signing.request(owner["mobile"]) == ANSWER
    assert signing.request(stranger) == ANSWER
    assert signing.notifications.sent == []
    # A code is kept for them as for anyone, so what sign_in says tells nothing either.
    for phone in (owner["mobile"], stranger):
        assert signing.code_row(phone)["person_id"] is None
        signing.refused(phone, "123456", "wrong code; 4 tries left")
    # The limits count them alike too.
    signing.request(stranger, after=60)
    signing.request(stranger, after=60)
    with pytest.raises(Conflict, match="too many codes"):
        signing.request(stranger, after=60)


def test_a_person_who_is_no_longer_staff_cannot_use_the_code_sent_before(signing, register):
    person = _person(register, roles=["volunteer"])
    signing.request(person["mobile"])
    register(use_cases.update_person, person_id=person["person_id"], roles=[])
    signing.refused(person["mobile"], signing.notifications.code(), "may not sign in")


def test_three_codes_per_mobile_in_ten_minutes_one_a_minute_ten_a_day(signing, register):
    phone = _person(register, roles=["staff"])["mobile"]
    signing.request(phone)
    with pytest.raises(Conflict, match="too many codes; try again in 1 minute$"):
        signing.request(phone, after=30)
    signing.request(phone, after=30)  # a minute after the first
    signing.request(phone, after=60)
    with pytest.raises(Conflict, match="try again in 7 minutes"):  # the first leaves the window at 10:00
        signing.request(phone, after=60)
    assert register.count("sign_in_requests") == 3  # a refused request is not counted
    signing.request(phone, after=7 * 60 + 1)
    for _ in range(6):
        signing.request(phone, after=10 * 60)
    assert register.count("sign_in_requests") == 10
    with pytest.raises(Conflict, match="too many codes"):
        signing.request(phone, after=10 * 60)
    assert len(signing.notifications.sent) == 10


def test_thirty_codes_per_client_in_ten_minutes(signing, register):
    for _ in range(30):
        signing.request(mobile(), client="203.0.113.9")
    with pytest.raises(Conflict, match="too many codes; try again in 10 minutes"):
        signing.request(mobile(), client="203.0.113.9")
    signing.request(mobile(), client="203.0.113.10")  # another client
    signing.request(mobile())  # a caller that names no client (an internal one, over RPC)
    signing.request(mobile(), client="203.0.113.9", after=10 * 60)


def test_a_code_that_cannot_be_sent_is_not_kept(signing, register):
    person = _person(register, roles=["staff"])
    signing.notifications.failing = True
    with pytest.raises(ServiceUnavailable):
        signing.request(person["mobile"])
    assert register.count("sign_in_codes") == register.count("sign_in_requests") == 0
    signing.notifications.failing = False
    assert signing.request(person["mobile"]) == ANSWER  # the failed one took no place in the limits


def test_the_purge_deletes_what_no_rule_reads_any_more(signing, register):
    old, recent = mobile(), mobile()
    signing.request(old)
    signing.request(recent, after=23 * 3600)
    register.now += timedelta(hours=2)
    assert register.run(timers.purge_sign_ins, caller=None) == 2  # the old request and its code
    assert [r["mobile"] for r in register.db("SELECT mobile FROM sign_in_requests")] == [recent]
    assert [r["mobile"] for r in register.db("SELECT mobile FROM sign_in_codes")] == [recent]
