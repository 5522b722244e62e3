"""Events published by the registry service (members, merchants, honours)."""

from marshmallow import Schema, fields, validate

from . import event_contract

MERCHANT_STATUSES = ("active", "suspended", "closed")


@event_contract(
    "registry",
    "merchant_registered",
    examples=[
        {
            "merchant_id": "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f",
            "shop_name": "鑫盛五金批发部",
            "district_id": "wholesale_city",
            "unit_no": "B2-117",
            "category": "五金建材",
            "credit_code": "91371400MA3C8XYZ1K",
            "contact_phone": "13912345678",
            "online_shop_url": None,
            "status": "active",
            "registered_at": "2026-03-01T09:30:00+00:00",
        }
    ],
)
class MerchantRegistered(Schema):
    """A merchant joined the register of one of the three business districts."""

    merchant_id = fields.String(required=True)
    shop_name = fields.String(required=True, validate=validate.Length(min=1))
    district_id = fields.String(required=True)
    unit_no = fields.String(required=True, allow_none=True)
    category = fields.String(required=True)
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    contact_phone = fields.String(required=True, allow_none=True)
    online_shop_url = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))
    registered_at = fields.AwareDateTime(required=True)
