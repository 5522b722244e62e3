"""The operator's `alliance` command against the running system: status and the everyday look-ups."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from alliance_ops.cli import main
from alliance_platform import logs
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.helpers import query, wait_until

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def alliance(*args, columns=250):
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": str(columns)})
    finally:
        logs.configure(fmt="console", level="WARNING")
    return result.exit_code, result.stdout + result.stderr


def test_status_tickets_and_activities_from_the_command_line(system, client):
    _, databases, _ = system
    code, out = alliance("status", columns=80)
    assert code == 0, out
    assert "…" not in out, f"cut at 80 columns:\n{out}"
    for service in ("registry", "tickets", "events", "notifications"):
        assert re.search(rf"^ *{service} +yes +ok +ok +\d+ +\d+ +\d+ +\d+ +\d+ *$", out, re.M), out
    # The gateway has no database, outbox, event handlers or queue of its own: a dash, not "?".
    assert re.search(r"^ *gateway +yes +— +ok +— +— +— +— +— *$", out, re.M), out

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
    assert code == 0 and f"{ticket['reference']}: owner 钱干事" in out
    code, out = alliance("tickets", "show", ticket["reference"])
    assert code == 0 and "钱干事" in out and "reassignment" in out
    # Local time with its zone: the promise as the merchant's notification names it.
    promised = datetime.fromisoformat(admin_view(client, ticket)["promised_by"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"promised by {promised:%Y-%m-%d %H:%M} +08:00" in out
    code, out = alliance("tickets", "show", "DM-2000-000001")
    assert code == 1

    # At 80 columns the reference stays whole and the owner is a name, not an id.
    code, out = alliance("tickets", "list", "--district", "aodele", columns=80)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80, out
    assert ticket["reference"] in out and "钱干事" in out and not UUID.search(out), out
    assert "(+08:00)" in out and f"{promised:%Y-%m-%d}" in out

    code, out = alliance("activities", "list", "--open")
    assert code == 0 and "澳德乐运动节" in out
    code, out = alliance("activities", "list", "--open", columns=80)  # titles may wrap, ids may not
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80, out
    short = activity["activity_id"][:8]
    assert short in out and "(+08:00)" in out and not UUID.search(out), out
    starts_local = starts.astimezone(ZoneInfo("Asia/Shanghai"))
    for shown in (activity["activity_id"], short, short.upper()):  # the id `list` prints is what `show` takes
        code, out = alliance("activities", "show", shown)
        assert code == 0 and "capacity 100" in out and activity["activity_id"] in out, out
        assert f"{starts_local:%Y-%m-%d %H:%M} +08:00" in out and "[published]" in out, out
    code, out = alliance("activities", "show", "ffffffff0")
    assert code == 1 and "no activity id starts with ffffffff0" in out
    code, out = alliance("activities", "show", "not-an-id")
    assert code == 2 and "neither an activity id nor the start of one" in out


def admin_view(client, ticket):
    with client(timeout=10) as admin:
        return admin.tickets.get_ticket(reference=ticket["reference"])


def test_a_short_activity_id_that_starts_several_ids_is_refused_by_name(system, client):
    """Seventeen activities: by the pigeonhole principle two of them share their first character."""
    starts = datetime.now(UTC) + timedelta(days=20)
    with client(timeout=10) as admin:
        made = [
            admin.events.create_activity(
                title=f"培训{n}",
                type="training",
                description="新零售",
                organisers=["outlets"],
                venue="服务中心",
                starts_at=(starts + timedelta(days=n)).isoformat(),
                ends_at=(starts + timedelta(days=n, hours=2)).isoformat(),
                registration_opens_at=datetime.now(UTC).isoformat(),
                registration_closes_at=(starts - timedelta(days=1)).isoformat(),
                capacity=10,
                audience={"kinds": ["merchants"], "districts": ["outlets"]},
            )
            for n in range(17)
        ]
    by_first = {}
    for a in made:
        by_first.setdefault(a["activity_id"][0], []).append(a)
    first, sharing = next((k, v) for k, v in by_first.items() if len(v) > 1)
    code, out = alliance("activities", "show", first)
    assert code == 1 and f"{first} is the start of {len(sharing)} activity ids" in out, out
    assert all(a["activity_id"] in out for a in sharing) and "give more of the id" in out
