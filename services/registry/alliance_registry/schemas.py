"""Input schemas of the registry's RPC methods."""

from marshmallow import Schema, ValidationError, fields, validate

from alliance_platform.identifiers import is_valid_credit_code, is_valid_mobile


def _credit_code(value):
    if not is_valid_credit_code(value):
        raise ValidationError("not a valid unified social credit code (18 characters, check character)")


def _mobile(value):
    if not is_valid_mobile(value):
        raise ValidationError("not a valid mainland mobile number (11 digits starting 13-19)")


class RegisterMerchant(Schema):
    shop_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    district_id = fields.String(required=True)
    unit_no = fields.String(load_default=None, validate=validate.Length(max=40))
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    credit_code = fields.String(required=True, validate=_credit_code)
    contact_phone = fields.String(load_default=None, validate=_mobile)
    online_shop_url = fields.Url(load_default=None, schemes={"http", "https"})


class MerchantRef(Schema):
    merchant_id = fields.UUID(required=True)
