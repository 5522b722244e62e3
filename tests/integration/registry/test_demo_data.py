"""The demo register goes through the registry's RPC, and loading it twice adds nothing."""

from alliance_ops import demo_data


def test_the_demo_register_loads_through_the_registry_and_a_second_load_adds_nothing(registry):
    steps = []
    with registry.client(timeout=30) as alliance:
        first = demo_data.load(alliance, progress=steps.append, per_district=24)
        second = demo_data.load(alliance, per_district=24)
    assert steps == list(demo_data.STEPS)
    assert first["merchants"] == {"registered": 72, "already present": 0}
    # Three per district (secretary, staff, staff volunteer) and two partner liaisons.
    assert first["staff"] == {"registered": 11, "already present": 0}
    # The partner bank and the regulator, added as organisations with their liaison each.
    assert first["partners"] == {"registered": len(demo_data.PARTNERS), "already present": 0}
    assert first["party members"]["registered"] == 9 + 72 // demo_data.MEMBER_EVERY  # liaisons are not members
    assert first["honours"]["registered"] == 72 // demo_data.MEMBER_EVERY
    assert first["pairings"]["registered"] == 72 // demo_data.MEMBER_EVERY
    assert all(entry["registered"] == 0 for entry in second.values()), second
    assert {kind: entry["already present"] for kind, entry in second.items()} == {
        kind: entry["registered"] for kind, entry in first.items()
    }
    counts = registry.db(
        "SELECT (SELECT count(*) FROM merchants) AS merchants, (SELECT count(*) FROM people) AS people,"
        " (SELECT count(*) FROM party_members WHERE floating) AS floating"
    )[0]
    assert counts == {"merchants": 72, "people": 72 + 11, "floating": 1}
    partners = registry.db(
        "SELECT o.id, count(l.person_id) AS liaisons FROM organisations o"
        " JOIN organisation_liaisons l ON l.organisation_id = o.id GROUP BY o.id ORDER BY o.id"
    )
    assert partners == [{"id": "dezhou_bank_tianqu", "liaisons": 1}, {"id": "tianqu_market_regulation", "liaisons": 1}]
