"""The registry's use cases: each runs inside the caller's one transaction (``session``)."""

from datetime import UTC, datetime

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

_MERCHANT_COLUMNS = (
    "id::text AS merchant_id, shop_name, district_id, unit_no, category, credit_code,"
    " contact_phone, online_shop_url, status, created_at AS registered_at"
)


def list_districts(session):
    return session.fetchall("SELECT id, name, name_en, is_alliance_base FROM districts ORDER BY id")


def register_merchant(session, caller, cmd):
    if not session.fetchone("SELECT 1 FROM districts WHERE id = %s", (cmd["district_id"],)):
        raise ValidationError("unknown district", {"district_id": [f"no district {cmd['district_id']!r}"]})
    caller.require_district(cmd["district_id"])
    if session.fetchone("SELECT 1 FROM merchants WHERE credit_code = %s", (cmd["credit_code"],)):
        raise Conflict(f"a merchant with credit code {cmd['credit_code']} is already registered")
    merchant = session.fetchone(
        "INSERT INTO merchants (shop_name, district_id, unit_no, category, credit_code, contact_phone,"
        " online_shop_url, created_at) VALUES (%(shop_name)s, %(district_id)s, %(unit_no)s, %(category)s,"
        f" %(credit_code)s, %(contact_phone)s, %(online_shop_url)s, %(now)s) RETURNING {_MERCHANT_COLUMNS}",
        {**cmd, "now": datetime.now(UTC)},
    )
    session.publish("merchant_registered", merchant, aggregate_id=merchant["merchant_id"])
    return _public(merchant)


def get_merchant(session, caller, merchant_id):
    merchant = session.fetchone(f"SELECT {_MERCHANT_COLUMNS} FROM merchants WHERE id = %s", (merchant_id,))
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id}")
    if caller.kind == "merchant":
        if caller.merchant_id != merchant["merchant_id"]:
            raise Forbidden("a merchant may read only its own record")
    else:
        caller.require_district(merchant["district_id"])
    return _public(merchant)


def _public(merchant):
    return {**merchant, "registered_at": merchant["registered_at"].isoformat()}
