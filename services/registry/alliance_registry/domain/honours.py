"""Honours: the star Party-member merchant (星级党员商户) is rated with 1 to 5 stars for a year;
the model store (党员示范店) and the member-business plaque (共产党员经营户) have no stars. Only a
merchant whose owner is a registered Party member is honoured, one standing honour of a kind (per
year) at a time."""

from alliance_contracts.registry import HONOUR_KINDS
from alliance_platform.errors import ValidationError

STAR_HONOUR, MODEL_STORE, MEMBER_PLAQUE = HONOUR_KINDS


def check_honour(kind, stars, year):
    errors = {}
    if kind == STAR_HONOUR:
        if stars is None:
            errors["stars"] = ["a star Party-member merchant has 1 to 5 stars"]
        if year is None:
            errors["year"] = ["a star Party-member merchant is rated for a year"]
    elif stars is not None:
        errors["stars"] = [f"{kind} has no stars"]
    if errors:
        raise ValidationError("invalid honour", errors)


def check_owner_is_member(owner_is_member):
    if not owner_is_member:
        raise ValidationError(
            "not a Party-member merchant", {"merchant_id": ["the merchant's owner is not a registered Party member"]}
        )


def evaluation_reason(result, winner):
    """Why an evaluation's winner is honoured: the evaluation's title, the rank and the votes."""
    return f"{result['title']}：第{winner['rank']}名（{winner['votes']}票）"
