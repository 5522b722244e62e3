"""Sample inputs for the registry's tests at every rung: valid credit codes, mobiles and ID-card
numbers never used twice in a run, and the fields of a merchant, a person and a floating Party
member (流动党员) to register."""

import itertools

from alliance_registry.domain.identifiers import make_credit_code, make_id_card

_serial = itertools.count(1)


def credit_code():
    return make_credit_code(f"9137140{next(_serial):010d}")


def mobile():
    return f"139{next(_serial):08d}"


def id_card(birth="19800101"):
    return make_id_card(f"371402{birth}{next(_serial) % 1000:03d}")


def merchant_fields(**overrides):
    return {
        "shop_name": "鑫盛五金批发部",
        "district_id": "wholesale_city",
        "category": "五金建材",
        "credit_code": credit_code(),
        **overrides,
    }


def person_fields(**overrides):
    return {"name": "王建国", "mobile": mobile(), "district_id": "wholesale_city", **overrides}


def floating_fields(arrived, card=True, **overrides):
    """A floating member from Yiwu, Zhejiang, arrived on ``arrived`` (a date), his activity card
    (流动党员活动证) issued that day unless ``card`` is false."""
    fields = {"home_organisation": "义乌市稠城街道党工委", "home_province": "浙江省", "arrived_on": arrived.isoformat()}
    if card:
        fields.update(activity_card_no="ZJ-2026-0042", activity_card_issued_on=arrived.isoformat())
    return {**fields, **overrides}
