"""The registry's first slice over the real broker: districts and merchant registration."""

import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_platform.config import service_class
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.helpers import query


def credit_code(n):
    return make_credit_code(f"9137140{n:010d}")


@pytest.fixture
def registry(container_factory, service_config):
    container = container_factory(service_class("registry"), service_config("registry"))
    container.start()
    return container


def test_the_three_districts_with_the_alliance_base(registry, client):
    with client() as alliance:
        districts = alliance.registry.list_districts()
    assert [(d["id"], d["is_alliance_base"]) for d in districts] == [
        ("aodele", False),
        ("outlets", False),
        ("wholesale_city", True),
    ]


def test_register_a_merchant_and_tickets_learns_of_it(registry, client, container_factory, service_config):
    tickets = container_factory(service_class("tickets"), service_config("tickets"))
    tickets.start()
    with entrypoint_waiter(tickets, "handle_registry_merchant_registered"), client() as alliance:
        merchant = alliance.registry.register_merchant(
            shop_name="鑫盛五金", district_id="wholesale_city", category="五金", credit_code=credit_code(1)
        )
        assert alliance.registry.get_merchant(merchant_id=merchant["merchant_id"]) == merchant
    directory = query(tickets.config["DATABASE_URL"], "SELECT merchant_id::text, shop_name FROM merchant_directory")
    assert directory == [{"merchant_id": merchant["merchant_id"], "shop_name": "鑫盛五金"}]


def test_bad_merchants_are_refused_and_nothing_is_written(registry, client, tokens):
    good = {"shop_name": "店", "district_id": "aodele", "category": "服装", "credit_code": credit_code(2)}
    with client() as alliance:
        with pytest.raises(ValidationError) as caught:
            alliance.registry.register_merchant(**{**good, "credit_code": "91371400000000000X"})
        assert "credit_code" in caught.value.fields
        with pytest.raises(ValidationError):
            alliance.registry.register_merchant(**{**good, "district_id": "moon"})
        with pytest.raises(ValidationError):
            alliance.registry.register_merchant(**{**good, "contact_phone": "12345"})
        alliance.registry.register_merchant(**good)
        with pytest.raises(Conflict):
            alliance.registry.register_merchant(**good)
        with pytest.raises(NotFound):
            alliance.registry.get_merchant(merchant_id="00000000-0000-0000-0000-000000000000")
    staff_elsewhere = tokens.issue("s-1", "staff", roles=["staff"], districts=["outlets"])
    with client(staff_elsewhere) as alliance, pytest.raises(Forbidden):
        alliance.registry.register_merchant(**{**good, "credit_code": credit_code(3)})
    rows = query(registry.config["DATABASE_URL"], "SELECT credit_code FROM merchants")
    assert [r["credit_code"] for r in rows] == [good["credit_code"]]
    assert query(registry.config["DATABASE_URL"], "SELECT count(*) AS n FROM outbox")[0]["n"] == 1


def test_a_merchant_reads_only_its_own_record(registry, client, tokens):
    with client() as alliance:
        mine = alliance.registry.register_merchant(
            shop_name="甲", district_id="outlets", category="餐饮", credit_code=credit_code(4)
        )
        other = alliance.registry.register_merchant(
            shop_name="乙", district_id="outlets", category="餐饮", credit_code=credit_code(5)
        )
    owner = tokens.issue("p-1", "merchant", roles=["merchant"], merchant_id=mine["merchant_id"])
    with client(owner) as alliance:
        assert alliance.registry.get_merchant(merchant_id=mine["merchant_id"])["shop_name"] == "甲"
        with pytest.raises(Forbidden):
            alliance.registry.get_merchant(merchant_id=other["merchant_id"])
