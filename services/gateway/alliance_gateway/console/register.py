"""The register: merchants and people found by a fragment of their (Chinese) name, a merchant's
page with its honours and its demands. ID-card numbers are shown as the registry returns them
(masked unless the registry decides otherwise)."""

from alliance_platform.errors import Forbidden, NotFound, ValidationError

from .web import field_errors, page

PAGE_SIZE = 20


@page("GET", "/register")
def register(visit):
    q = visit.request.args.get("q", "").strip()
    merchants = people = None
    errors = {}
    if q:
        try:
            merchants = visit.call("registry", "search_merchants", name=q, limit=PAGE_SIZE)["items"]
            people = visit.call("registry", "search_people", name=q, limit=PAGE_SIZE)["items"]
        except ValidationError as exc:
            errors = field_errors(visit.lang, exc)
            errors["q"] = errors.pop("name", None) or [m for ms in errors.values() for m in ms]
    status = 400 if errors else 200
    return visit.render(
        "register.html", status=status, section="register", q=q, merchants=merchants, people=people, errors=errors
    )


@page("GET", "/merchants/<uuid:merchant_id>")
def merchant_page(visit, merchant_id):
    merchant = visit.call("registry", "get_merchant", merchant_id=str(merchant_id))
    honours = visit.call("registry", "list_honours", merchant_id=str(merchant_id), limit=50)["items"]
    owner = None
    if merchant.get("owner_id"):
        try:
            owner = visit.call("registry", "get_person", person_id=merchant["owner_id"])
        except Forbidden:
            owner = None
    try:
        tickets = visit.call("tickets", "list_tickets", merchant_id=str(merchant_id), limit=20)["items"]
    except Forbidden:
        tickets = None
    pairings = visit.call("registry", "list_pairings", merchant_id=str(merchant_id))
    members = {}
    for pairing in pairings:
        try:
            members[pairing["person_id"]] = visit.call("registry", "get_person", person_id=pairing["person_id"])["name"]
        except (Forbidden, NotFound):
            members[pairing["person_id"]] = None
    # The shop's registrations at the activities the caller organises (the events service decides).
    activities = visit.call("events", "list_registrations", merchant_id=str(merchant_id))
    return visit.render(
        "merchant.html",
        section="register",
        merchant=merchant,
        honours=honours,
        owner=owner,
        tickets=tickets,
        pairings=pairings,
        members=members,
        activities=activities,
    )
