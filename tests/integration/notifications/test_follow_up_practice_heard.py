"""The demand desk's follow-up practice reaches the people it concerns, once each: a merged
duplicate and the custody log's steps the merchant, supervision the owner (and its lifting the
leader who supervised), a follow-up call that found the matter not solved the demand's owner."""

from datetime import timedelta

from tests.integration.notifications.test_everyone_hears import alliance  # noqa: F401  (the fixture)


def test_the_merchant_hears_of_a_merge_and_of_its_documents_once_each(alliance):  # noqa: F811
    world = alliance()
    handler = world.staff()
    shop, shop_owner = world.shop()
    survivor, duplicate = world.submit(shop, shop_owner), world.submit(shop, shop_owner)
    with world.post.staff(person_id=handler["person_id"]) as me:
        me.tickets.merge_ticket(ticket_id=duplicate["ticket_id"], into_id=survivor["ticket_id"])
        me.tickets.accept_ticket(ticket_id=survivor["ticket_id"])
        item = me.tickets.receive_document(
            ticket_id=survivor["ticket_id"], document="营业执照副本", received_from="店主", location="档案柜A-3"
        )
        me.tickets.return_document(item_id=item["item_id"], returned_to="店主")
    world.settled()
    merchant = world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"])
    [merged] = world.inbox(merchant, "tickets.ticket_merged")
    assert merged["title"] == f"诉求 {duplicate['reference']} 已合并" and survivor["reference"] in merged["body"]
    [received] = world.inbox(merchant, "tickets.document_received")
    [returned] = world.inbox(merchant, "tickets.document_returned")
    assert "营业执照副本" in received["body"] and "请确认收回" in returned["body"]
    assert world.inbox(world.post.staff(person_id=handler["person_id"]), "tickets.ticket_merged") == []


def test_supervision_reaches_the_owner_its_lifting_the_leader_and_an_unsolved_call_the_owner(alliance):  # noqa: F811
    world = alliance()
    owner, secretary = world.staff(), world.staff(roles=["branch_secretary"])
    shop, shop_owner = world.shop()
    with world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"]) as me:
        ticket = me.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category="other",
            title="咨询门头招牌更换手续",
            description="店铺门头招牌老化，想了解更换需要办理哪些手续。",
            handling_mode="on_the_spot",
        )
    with world.post.staff(person_id=owner["person_id"]) as me:
        me.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        me.tickets.start_ticket(ticket_id=ticket["ticket_id"])
    world.post.time.advance(hours=5)  # past its four working hours
    leader = world.post.staff(roles=("branch_secretary",), person_id=secretary["person_id"])
    with leader as me:
        due = (world.post.now() + timedelta(days=1)).isoformat()
        me.tickets.supervise_ticket(ticket_id=ticket["ticket_id"], due_at=due, reason="超时未办结")
    with world.post.staff(person_id=owner["person_id"]) as me:
        me.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="已告知所需材料")
    with world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"]) as me:
        me.tickets.close_ticket(ticket_id=ticket["ticket_id"], rating=1)  # reopened, a call owed
    with leader as me:
        me.tickets.record_follow_up(ticket_id=ticket["ticket_id"], outcome="not_solved", note="材料仍不清楚")
    world.settled()
    owner_client = world.post.staff(person_id=owner["person_id"])
    [supervised] = world.inbox(owner_client, "tickets.ticket_supervised")
    assert supervised["title"] == f"督办：诉求 {ticket['reference']}" and "超时未办结" in supervised["body"]
    [lifted] = world.inbox(leader, "tickets.supervision_lifted")
    assert lifted["title"] == f"督办解除：诉求 {ticket['reference']}"
    [unsolved] = world.inbox(owner_client, "tickets.follow_up_call_recorded")
    assert "材料仍不清楚" in unsolved["body"]
    assert world.inbox(leader, "tickets.ticket_supervised") == [], "the leader who supervised is not told of it"
    assert world.inbox(leader, "tickets.follow_up_call_recorded") == []
