"""The tickets service's own copy of what it needs from the registry, fed by registry events,
so that reading a ticket never waits on an RPC to the registry."""


def merchant_registered(session, payload):
    session.execute(
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%(merchant_id)s, %(shop_name)s, %(district_id)s, %(status)s)"
        " ON CONFLICT (merchant_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,"
        " district_id = EXCLUDED.district_id, status = EXCLUDED.status",
        payload,
    )
