"""The floating member's transfer told over the broker: the registry's own events reach the
member at each step and the receiving branch's secretary (of its district) when it starts and
completes; another district's secretary hears nothing."""

from datetime import timedelta

from tests.use_cases.registry.samples import floating_fields


def test_the_member_and_the_receiving_branchs_secretary_are_told(post):
    member = post.register_person(roles=[], district="wholesale_city")
    aodele, outlets = (post.register_person(roles=["branch_secretary"], district=d) for d in ("aodele", "outlets"))
    arrived = (post.now() - timedelta(days=200)).date()
    with post.admin() as admin:
        admin.registry.register_party_member(
            person_id=member["person_id"],
            branch_id="branch_wholesale_city",
            joined_on="2012-06-30",
            floating=floating_fields(arrived, card=False),
        )
        started = admin.registry.start_transfer(
            person_id=member["person_id"], to_branch_id="branch_aodele", letter_no="义稠党介〔2026〕017号"
        )
    told = post.wait_for("n.rule = 'floating_transfer_started_secretary'")
    assert {d["recipient"] for d in told} == {f"person:{aodele['person_id']}"}
    post.wait_for("n.rule = 'floating_transfer_started_member'")
    with post.admin() as admin:
        admin.registry.complete_transfer(transfer_id=started["transfer_id"])
    done = post.wait_for("n.rule = 'floating_transferred_in_secretary'")
    assert {d["recipient"] for d in done} == {f"person:{aodele['person_id']}"}
    inbox = post.wait_for("n.rule = 'floating_transferred_in_member' AND d.channel = 'inbox'")
    assert inbox[0]["recipient"] == f"person:{member['person_id']}"
    assert post.deliveries("d.recipient = %s", (f"person:{outlets['person_id']}",)) == []
