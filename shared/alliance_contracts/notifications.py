"""Events published by the notifications service: how each delivery ended.

One event per delivery that reached its end on a channel that sends (SMS, e-mail, group robots);
inbox messages are stored, not sent, and announce nothing. Recipients are named by their key
(``merchant:<id>``, ``person:<id>``, ``group:<name>``), never by phone number or address.
"""

from marshmallow import Schema, fields, validate

from . import event_contract

CHANNELS = ("sms", "email", "wecom", "dingtalk")

_DELIVERY = {
    "delivery_id": "4711",
    "notification_id": "815",
    "event_id": "6d1f7c2e-58b4-4f0e-9a6b-2c4d8e1f3a5b",
    "source": "tickets.ticket_submitted",
    "rule": "ticket_received",
    "recipient": "merchant:3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f",
    "channel": "sms",
    "attempts": 1,
    "via_digest": None,
}


class _Delivery(Schema):
    delivery_id = fields.String(required=True)
    notification_id = fields.String(required=True)
    event_id = fields.String(required=True)  # the event notified about; for ``send``, derived from its key
    source = fields.String(required=True)  # "<service>.<event_type>", "send" or "digest"
    rule = fields.String(required=True)
    recipient = fields.String(required=True, validate=validate.Regexp(r"^(merchant|person|group):.+"))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    attempts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    via_digest = fields.String(required=True, allow_none=True)  # the digest delivery that carried it


@event_contract(
    "notifications",
    "notification_delivered",
    examples=[
        {**_DELIVERY, "sent_at": "2026-03-02T02:15:03+00:00"},
        {
            **_DELIVERY,
            "delivery_id": "5120",
            "channel": "wecom",
            "recipient": "group:wholesale_city",
            "rule": "ticket_new_for_district_staff",
            "attempts": 2,
            "sent_at": "2026-03-02T02:16:10+00:00",
        },
    ],
)
class NotificationDelivered(_Delivery):
    """The provider accepted the message (the SMS gateway, the SMTP server, the group robot)."""

    sent_at = fields.AwareDateTime(required=True)


@event_contract(
    "notifications",
    "notification_failed",
    examples=[
        {
            **_DELIVERY,
            "attempts": 5,
            "error": "503 gateway busy",
            "failed_at": "2026-03-02T04:30:00+00:00",
        }
    ],
)
class NotificationFailed(_Delivery):
    """The delivery is dead: refused by the provider, or every attempt failed. An operator sees it
    in ``list_deliveries(status="dead")`` and may ``retry_delivery``."""

    error = fields.String(required=True)
    failed_at = fields.AwareDateTime(required=True)
