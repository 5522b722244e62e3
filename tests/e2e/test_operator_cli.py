"""The operator's `alliance` command against the running system: status and the everyday look-ups."""

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from alliance_platform import logs
from alliance_platform.cli import main
from alliance_platform.identifiers import make_credit_code
from tests.support.helpers import query, wait_until


def alliance(*args):
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})
    finally:
        logs.configure(fmt="console", level="WARNING")
    return result.exit_code, result.stdout


def test_status_tickets_and_activities_from_the_command_line(system, client):
    _, databases, _ = system
    code, out = alliance("status")
    assert code == 0, out
    for service in ("registry", "tickets", "events", "notifications"):
        assert service in out

    with client(timeout=10) as admin:
        owner = admin.registry.register_person(name="赵店主", mobile="13900001111", district_id="aodele")
        staff = admin.registry.register_person(
            name="钱干事", mobile="13900002222", district_id="aodele", roles=["staff"]
        )
        merchant = admin.registry.register_merchant(
            shop_name="澳德乐运动专营店",
            district_id="aodele",
            category="运动服饰",
            credit_code=make_credit_code("91371400CL1000001"),
            owner_id=owner["person_id"],
        )
        wait_until(
            lambda: (
                query(
                    databases["tickets"],
                    "SELECT 1 FROM merchant_directory WHERE merchant_id = %s",
                    (merchant["merchant_id"],),
                )
                and query(
                    databases["tickets"], "SELECT 1 FROM people_directory WHERE person_id = %s", (staff["person_id"],)
                )
            ),
            message="tickets to learn of the merchant and the staff member",
        )
        ticket = admin.tickets.submit_ticket(
            merchant_id=merchant["merchant_id"],
            category="online_shop",
            title="开通网店",
            description="想在线上开店",
            handling_mode="assisted",
        )
        starts = datetime.now(UTC) + timedelta(days=10)
        activity = admin.events.create_activity(
            title="澳德乐运动节",
            type="themed_promotion",
            description="运动主题",
            organisers=["aodele"],
            venue="中庭",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=6)).isoformat(),
            registration_opens_at=datetime.now(UTC).isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=100,
            audience={"kinds": ["merchants"], "districts": ["aodele"]},
            theme_tags=["运动"],
        )
        admin.events.publish_activity(activity_id=activity["activity_id"])

    code, out = alliance("tickets", "list", "--district", "aodele")
    assert code == 0 and ticket["reference"] in out and "开通网店" in out
    code, out = alliance("tickets", "assign", ticket["reference"], "--to", staff["person_id"], "--reason", "熟悉电商")
    assert code == 0 and staff["person_id"] in out
    code, out = alliance("tickets", "show", ticket["reference"])
    assert code == 0 and "钱干事" in out and "reassignment" in out
    code, out = alliance("tickets", "show", "DM-2000-000001")
    assert code == 1
    code, out = alliance("activities", "list", "--open")
    assert code == 0 and "澳德乐运动节" in out
    code, out = alliance("activities", "show", activity["activity_id"])
    assert code == 0 and "capacity 100" in out
