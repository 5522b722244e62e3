"""Drill: the notifications process is killed (SIGKILL) in the middle of a fan-out to 30,000
merchants. After it is started again, every merchant has exactly one inbox message — none lost,
none doubled."""

import uuid
from datetime import UTC, datetime, timedelta

from alliance_platform.config import load_config
from alliance_platform.identity import TokenService
from alliance_platform.rpc import AllianceClient
from tests.support.helpers import query, wait_until

MERCHANTS = 30_000


def test_every_merchant_gets_one_inbox_message_though_the_fanout_was_killed(system, rabbit_config):
    supervisor, databases, _ = system
    query(
        databases["registry"],
        "INSERT INTO merchants (shop_name, district_id, category, credit_code, contact_phone, created_at, updated_at)"
        " SELECT '演练商户' || n, (ARRAY['wholesale_city', 'aodele', 'outlets'])[1 + n %% 3], '百货',"
        " lpad(n::text, 18, '0'), '139' || lpad(n::text, 8, '0'), now(), now()"
        " FROM generate_series(1, %s) AS n RETURNING 1",
        (MERCHANTS,),
    )
    token = TokenService.from_config(load_config("registry")).issue(
        "organiser", "staff", roles=["staff"], districts=["*"]
    )
    starts = datetime.now(UTC) + timedelta(days=10)
    with AllianceClient(rabbit_config["AMQP_URI"], token, timeout=30) as alliance:
        activity = alliance.events.create_activity(
            title=f"全体商户大会 {uuid.uuid4().hex[:6]}",
            type="symposium",
            description="演练",
            venue="服务中心",
            organisers=["wholesale_city", "aodele", "outlets"],
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=2)).isoformat(),
            registration_opens_at=datetime.now(UTC).isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=100,
            audience={"kinds": ["merchants"], "districts": ["wholesale_city", "aodele", "outlets"]},
        )
        alliance.events.publish_activity(activity_id=activity["activity_id"])

    def inbox_rows():
        return query(databases["notifications"], "SELECT count(*) AS n FROM deliveries WHERE channel = 'inbox'")[0]["n"]

    database = databases["notifications"].rsplit("/", 1)[1]

    def fanning_out():
        # The fan-out writes its pages in a transaction; catch the service with one open.
        return query(
            databases["notifications"],
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL"
            " AND now() - xact_start > interval '200 milliseconds' AND pid <> pg_backend_pid()",
            (database,),
        )

    wait_until(fanning_out, timeout=60, interval=0.01, message="the fan-out under way")
    supervisor.processes["notifications"].kill()  # SIGKILL: no goodbye, no commit of the page in hand
    supervisor.processes["notifications"].wait()
    killed_at = inbox_rows()
    supervisor.start(["notifications"])
    supervisor.wait_ready(names=["notifications"])
    wait_until(lambda: inbox_rows() >= MERCHANTS, timeout=180, message="every merchant's inbox message")

    rows = query(
        databases["notifications"],
        "SELECT count(*) AS messages, count(DISTINCT recipient) AS recipients FROM deliveries WHERE channel = 'inbox'",
    )[0]
    print(
        f"recipients {MERCHANTS}, written before the kill {killed_at}, after {rows['messages']}, "
        f"lost {MERCHANTS - rows['recipients']}, duplicated {rows['messages'] - rows['recipients']}"
    )
    assert killed_at < MERCHANTS, "the kill came in the middle of the fan-out"
    assert rows == {"messages": MERCHANTS, "recipients": MERCHANTS}
