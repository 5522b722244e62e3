"""Organisations as data over the real broker: an administrator adds a bank with a liaison through
the registry's RPC (others are refused); its organisation_added event reaches the tickets service
(which can refer demands to it from then on) and the notifications service (the liaison is told);
a demand referred to the bank reaches its liaison, as the registry names them when the message
goes out; a rename shows on the ticket; a retired bank can no longer be referred to."""

import pytest

from alliance_platform.errors import Conflict, Forbidden
from tests.integration.notifications.test_everyone_hears import alliance  # noqa: F401  (the fixture)
from tests.support.helpers import query, wait_until


def _directory(world, organisation_id, version):
    """The tickets service's row of the organisation, once it has learnt ``version``."""
    return wait_until(
        lambda: query(
            world.tickets.config["DATABASE_URL"],
            "SELECT name, status, liaison_ids FROM organisation_directory WHERE organisation_id = %s AND version >= %s",
            (organisation_id, version),
        ),
        message=f"the tickets service to learn version {version} of {organisation_id}",
    )[0]


def _in_progress(world, handler):
    shop, owner = world.shop()
    ticket = world.submit(shop, owner, category="bank_financing")
    with world.post.staff(person_id=handler["person_id"]) as me:
        me.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        me.tickets.start_ticket(ticket_id=ticket["ticket_id"])
    return ticket


def test_a_new_bank_with_a_liaison_receives_referred_demands_until_it_is_retired(alliance):  # noqa: F811
    world = alliance()
    liaison, handler = world.staff(roles=["department_liaison"]), world.staff()
    bank = {
        "organisation_id": "dezhou_bank_tianqu",
        "type": "bank",
        "name": "德州银行天衢新区支行",
        "short_name": "德州银行",
        "parent_id": "alliance",
        "liaison_ids": [liaison["person_id"]],
    }
    with world.post.staff(person_id=handler["person_id"]) as staff:
        with pytest.raises(Forbidden):
            staff.registry.add_organisation(**bank)
    with world.post.admin() as admin:
        add = admin.registry.add_organisation.with_request_id("add-dezhou-bank-1")
        added, again = add(**bank), add(**bank)  # a retry is answered, not carried out again
        assert (added["version"], again["version"], added["liaison_ids"]) == (1, 1, [liaison["person_id"]])
    learnt = _directory(world, "dezhou_bank_tianqu", 1)
    assert (learnt["status"], learnt["liaison_ids"]) == ("active", [liaison["person_id"]])

    ticket = _in_progress(world, handler)
    with world.post.staff(person_id=handler["person_id"]) as me:
        referred = me.tickets.refer_ticket(
            ticket_id=ticket["ticket_id"], partner_id="dezhou_bank_tianqu", note="经营贷"
        )
        assert referred["status"] == "referred"
    world.settled()
    liaison_client = world.post.staff(person_id=liaison["person_id"])
    [appointed] = wait_until(
        lambda: world.inbox(liaison_client, "registry.organisation_added"), message="the liaison told of the bank"
    )
    assert "德州银行" in appointed["title"]
    [heard] = world.inbox(liaison_client, "tickets.ticket_referred")
    assert ticket["reference"] in heard["title"] and "经营贷" in heard["body"]
    assert world.inbox(world.post.staff(person_id=handler["person_id"]), "tickets.ticket_referred") == []

    with world.post.admin() as admin:
        admin.registry.rename_organisation(organisation_id="dezhou_bank_tianqu", name="德州银行天衢支行")
    _directory(world, "dezhou_bank_tianqu", 2)
    with world.post.staff(person_id=handler["person_id"]) as me:
        assert me.tickets.get_ticket(ticket_id=ticket["ticket_id"])["partner"] == "德州银行天衢支行"

    with world.post.admin() as admin:
        retired = admin.registry.retire_organisation(organisation_id="dezhou_bank_tianqu", reason="合作协议到期")
        assert (retired["status"], retired["liaison_ids"]) == ("retired", [])
        history = admin.registry.organisation_history(organisation_id="dezhou_bank_tianqu")["items"]
        assert [v["change"] for v in history] == ["added", "renamed", "retired"]
    assert _directory(world, "dezhou_bank_tianqu", 3)["status"] == "retired"
    another = _in_progress(world, handler)
    with world.post.staff(person_id=handler["person_id"]) as me:
        with pytest.raises(Conflict, match="retired"):
            me.tickets.refer_ticket(ticket_id=another["ticket_id"], partner_id="dezhou_bank_tianqu")
    [released] = wait_until(
        lambda: world.inbox(liaison_client, "registry.organisation_retired"), message="the liaison told of the end"
    )
    assert "合作协议到期" in released["body"]
