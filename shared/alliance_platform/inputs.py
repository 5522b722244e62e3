"""Input schemas more than one service's RPC methods take."""

from marshmallow import Schema, ValidationError, fields, validates_schema


class Period(Schema):
    """A period ``since`` (included) ``until`` (excluded), both with a time zone."""

    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["until"] <= data["since"]:
            raise ValidationError("until must be after since", "until")
