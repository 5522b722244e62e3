"""The registry's changes say who made them (issue 18, audit): staff, the merchant itself, a system
acting for the merchant — and never hold an ID-card number."""

from tests.use_cases.registry.samples import id_card, merchant_fields, person_fields


def test_who_changed_a_merchant_staff_the_merchant_and_a_system_for_the_merchant(registry, client, tokens):
    number = id_card()
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(id_card_no=number))
        merchant = alliance.registry.register_merchant(**merchant_fields(owner_id=owner["person_id"]))
    merchant_id, owner_id = merchant["merchant_id"], owner["person_id"]
    staff = tokens.issue("staff-7", "staff", roles=["staff"], districts=["wholesale_city"])
    with client(staff, correlation_id="corr-staff") as alliance:
        alliance.registry.update_merchant.with_request_id("desk-1")(merchant_id=merchant_id, unit_no="A-101")
    shop = dict(roles=["merchant"], districts=["wholesale_city"], merchant_id=merchant_id)
    with client(tokens.issue(owner_id, "merchant", **shop), correlation_id="corr-shop") as alliance:
        alliance.registry.update_merchant(merchant_id=merchant_id, contact_phone="13900000077")
    app = tokens.issue(owner_id, "merchant", **shop, actor="miniprogram", delegation="dlg-9")
    with client(app, correlation_id="corr-app") as alliance:
        alliance.registry.update_merchant(merchant_id=merchant_id, unit_no="A-102")

    with registry.admin() as alliance:
        changes = alliance.registry.list_changes(entity="merchant", entity_id=merchant_id)["items"]
        of_owner = alliance.registry.list_changes(entity="person", entity_id=owner_id)["items"]
    assert [(c["command"], c["acted_by"], c["on_behalf_of"], c["correlation_id"]) for c in changes] == [
        ("register_merchant", "staff:admin-1", None, changes[0]["correlation_id"]),
        ("update_merchant", "staff:staff-7", None, "corr-staff"),
        ("update_merchant", f"merchant:{owner_id}", None, "corr-shop"),
        ("update_merchant", "system:miniprogram", f"merchant:{owner_id}", "corr-app"),
    ]
    # The caller's own request id where it named one; the client's fresh one for each call otherwise.
    ids = [c["request_id"] for c in changes]
    assert ids[1] == "desk-1" and None not in ids and len(set(ids)) == 4
    # Registering the merchant touched its owner too (owner_id names a person).
    assert f"person:{owner_id}" in changes[0]["entities"] and "district:wholesale_city" in changes[0]["entities"]
    assert [c["command"] for c in of_owner] == ["register_person", "register_merchant"] + ["update_merchant"] * 3
    assert changes[3]["summary"] == {"merchant_id": merchant_id, "unit_no": "A-102"}

    # The ID-card number the person was registered with is in no change, in no form.
    (registered,) = [c for c in of_owner if c["command"] == "register_person"]
    assert "id_card_no" not in registered["summary"] and registered["summary"]["name"] == "王建国"
    dump = str(registry.db("SELECT summary::text, entities::text FROM changes"))
    assert number not in dump and number[-6:] not in dump
