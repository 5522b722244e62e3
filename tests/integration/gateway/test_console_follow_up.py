"""A demand's page in the staff console shows the follow-up practice's facts: the documents the
centre holds for the merchant and their state, the supervision it is under, the follow-up call
owed and then its outcome, and, on a merged duplicate, the way to the demand it was merged into."""

from datetime import datetime, timedelta

from tests.integration.gateway.test_console_http import _browser
from tests.support.helpers import query


def test_a_demands_page_shows_its_documents_supervision_follow_up_and_merge(console):
    staff = console.person("王芳", "13900000021")
    secretary = console.person("李书记", "13900000022", roles=("branch_secretary",))
    merchant_id = console.merchant("鑫盛五金")
    ticket_id = console.demand(merchant_id)["ticket_id"]
    duplicate_id = console.demand(merchant_id)["ticket_id"]
    tickets = console.services["tickets"]
    with tickets.staff(person_id=staff) as me:
        me.tickets.accept_ticket(ticket_id=ticket_id)
        me.tickets.start_ticket(ticket_id=ticket_id)
        me.tickets.receive_document(
            ticket_id=ticket_id, document="营业执照副本", received_from="店主王女士", location="档案柜A-3"
        )
        me.tickets.merge_ticket(ticket_id=duplicate_id, into_id=ticket_id)
    # Escalated once, as the SLA sweep does for an overdue demand: the branch secretary supervises.
    query(tickets.database, "UPDATE tickets SET escalation_level = 1 WHERE id = %s RETURNING id", (ticket_id,))
    due = datetime.fromisoformat(tickets.now().isoformat()) + timedelta(days=2)
    with tickets.staff(roles=("branch_secretary",), person_id=secretary) as leader:
        leader.tickets.supervise_ticket(ticket_id=ticket_id, due_at=due.isoformat(), reason="超时未办结")
    browser = _browser(console, console.staff_token(staff))

    def page(of=ticket_id):
        shown = browser.get(f"{console.url}/tickets/{of}", timeout=15)
        assert shown.status_code == 200, shown.text
        return shown.text

    shown = page()
    assert 'id="documents"' in shown and "营业执照副本" in shown and "代管中" in shown
    assert 'id="supervision"' in shown and "超时未办结" in shown
    merged = page(duplicate_id)
    assert 'id="merged-into"' in merged and f'href="/console/tickets/{ticket_id}"' in merged

    with tickets.staff(person_id=staff) as me:
        me.tickets.resolve_ticket(ticket_id=ticket_id, resolution="已办结")
    with tickets.merchant(merchant_id) as shop:
        shop.tickets.close_ticket(ticket_id=ticket_id, rating=2, comment="还没放款")  # reopened, a call owed
    shown = page()
    assert 'id="supervision"' not in shown, "resolving lifted it"
    assert 'id="follow-ups"' in shown and "待回访" in shown
    with tickets.staff(roles=("branch_secretary",), person_id=secretary) as leader:
        leader.tickets.record_follow_up(ticket_id=ticket_id, outcome="not_solved", note="放款仍在审批")
    shown = page()
    assert "未解决：放款仍在审批" in shown and "回访结果" in shown
