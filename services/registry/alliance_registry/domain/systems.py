"""Internal systems that act for people (delegation, docs/contract/DELEGATION.md).

An administrator registers another internal system — the merchant mini-program's backend, say —
with its limits: the RPC methods it may call (``grants``, "service.method" or "service.*"), the
kinds of people it may act for (merchants, staff), the districts, the longest lifetime of a token
it obtains. The system gets a *credential*: a random secret shown once, kept only as its SHA-256
digest. It presents the credential with a merchant id or a staff member's person id to
``exchange_token`` and receives a short-lived token of that person (RFC 8693 token exchange):
their own kind, roles, districts and merchant, narrowed to the system's limits, with ``act`` the
system, ``dlg`` the registration and ``grants`` the system's grants.

Why a secret and not a signed system token: a credential only the registry's exchange accepts is
no identity anywhere else — a leaked one is worth nothing at any other service, and stops working
the moment it is rotated or the system revoked, with nothing to distribute; a signed token would be
accepted by every service until it expired, and revoking it would need the revocation list for the
system's own token as well. The secret has 256 random bits: a plain SHA-256 digest keeps it (a slow
password hash protects guessable secrets; nobody guesses 2²⁵⁶), found by an index on the digest.

What a delegated token never carries: the roles of administration (``NOT_DELEGATED``: an
administrator's reach is every district whatever the token's districts say) — a system acts for
staff in their daily roles only.

Every rule takes the time it is given (the use case's ``ctx.now``), never the clock.
"""

import hashlib
import hmac
import re
import secrets

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_platform.grants import FRONT_DOORS, SERVICES
from alliance_platform.identity import ALL_DISTRICTS, ROLES

from . import merchants
from .sign_in import may_sign_in

KINDS = ("merchant", "staff")  # whom a system may act for
NOT_DELEGATED = frozenset({"admin", "operator", "system"})
MERCHANT_ROLES = ("merchant",)  # a merchant's token, as `alliance token --kind merchant` makes it
# A system's name is its ``act`` claim, the ``system:<name>`` of histories and audit lines: it must
# not pass for one of the platform's own callers.
RESERVED_NAMES = frozenset({*SERVICES, *FRONT_DOORS, "operator", "alliance", "alliance-cli", "test-system"})
NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
GRANT = re.compile(rf"^({'|'.join(SERVICES)})\.([a-z][a-z0-9_]*|\*)$")
CREDENTIAL_PREFIX = "alliance-system."  # recognisable in a leaked config (secret scanners)
SECRET_BYTES = 32
# The longest token lifetime an administrator may allow a system: short-lived tokens (a revocation
# stops them at once anyway; expiry bounds what a token leaked from the system is worth).
LONGEST_TTL = 3600
DEFAULT_TTL = 900


def check_name(name):
    if not NAME.match(name or ""):
        raise ValidationError(
            "invalid system name", {"name": ["2 to 40 of a-z, 0-9 and '-', starting with a letter, e.g. miniprogram"]}
        )
    if name in RESERVED_NAMES:
        raise ValidationError("reserved system name", {"name": [f"{name!r} is a name of the platform's own callers"]})


# The registry's methods of this module: an administrator's, never granted to a system by name
# (they allow the admin role, which no delegated token carries; ``exchange_token`` takes no token).
SYSTEM_METHODS = ("register_system", "list_systems", "rotate_system_credential", "revoke_system", "exchange_token")


def check_grants(grants):
    bad = sorted(g for g in grants if not GRANT.match(g))
    if bad or not grants:
        raise ValidationError(
            "invalid grants",
            {"grants": [f"each grant is service.method or service.*, of {', '.join(SERVICES)}; got {bad or 'none'}"]},
        )
    named = sorted(g for g in grants if g.startswith("registry.") and g.split(".", 1)[1] in SYSTEM_METHODS)
    if named:
        raise ValidationError("invalid grants", {"grants": [f"{', '.join(named)}: an administrator's, not a system's"]})


def limits(cmd, longest_ttl=LONGEST_TTL):
    """The checked limits of a registration ``cmd``."""
    check_name(cmd["name"])
    grants = sorted(set(cmd["grants"]))
    check_grants(grants)
    districts = sorted(set(cmd["districts"]))
    if ALL_DISTRICTS in districts:
        districts = [ALL_DISTRICTS]
    if cmd["max_ttl"] > longest_ttl:
        raise ValidationError("lifetime too long", {"max_ttl": [f"at most {longest_ttl} seconds"]})
    return {
        "name": cmd["name"],
        "grants": grants,
        "kinds": sorted(set(cmd["kinds"])),
        "districts": districts,
        "max_ttl": cmd["max_ttl"],
    }


# The credential -----------------------------------------------------------------------------------


def new_credential(token_urlsafe=secrets.token_urlsafe):
    return CREDENTIAL_PREFIX + token_urlsafe(SECRET_BYTES)


def digest(credential):
    return hashlib.sha256(credential.encode()).digest()


def matches(stored, credential):
    return hmac.compare_digest(bytes(stored), digest(credential))


# The exchange -------------------------------------------------------------------------------------


def check_standing(system):
    """A revoked system exchanges nothing (the caller is refused as for an unknown credential)."""
    return system is not None and system["revoked_at"] is None


def check_ttl(system, requested):
    ttl = requested or system["max_ttl"]
    if ttl > system["max_ttl"]:
        raise ValidationError(
            "lifetime too long",
            {"ttl": [f"system {system['name']} may obtain tokens of at most {system['max_ttl']} s"]},
        )
    return ttl


def _require_kind(system, kind):
    if kind not in system["kinds"]:
        raise Forbidden(f"system {system['name']} may not act for {kind}s (it may for: {', '.join(system['kinds'])})")


def _require_district(system, district, whose):
    if ALL_DISTRICTS in system["districts"]:
        return
    if district not in system["districts"]:
        raise Forbidden(
            f"system {system['name']} may not act in district {district or 'none'} ({whose}); its districts:"
            f" {', '.join(system['districts'])}"
        )


def merchant_claims(system, merchant, owner):
    """The token a system obtains for ``merchant`` (as its owner ``owner`` acts for it): TokenService.issue's
    arguments but the lifetime."""
    _require_kind(system, "merchant")
    _require_district(system, merchant["district_id"], f"merchant {merchant['merchant_id']}")
    if merchant["status"] != merchants.ACTIVE:
        raise Conflict(f"merchant {merchant['merchant_id']} is {merchant['status']}: nobody acts for it")
    if owner is None:
        raise Conflict(f"merchant {merchant['merchant_id']} has no owner in the register to act for it")
    return {
        "subject": owner["person_id"],
        "kind": "merchant",
        "roles": list(MERCHANT_ROLES),
        "districts": [merchant["district_id"]],
        "merchant_id": merchant["merchant_id"],
        "name": owner["name"],
        **_delegation(system),
    }


def staff_claims(system, person):
    """The token a system obtains for a staff member: their daily roles in their district."""
    _require_kind(system, "staff")
    if not may_sign_in(person):
        raise Conflict(f"person {person['person_id']} holds no staff role (any more): nobody acts for them")
    roles = sorted(role for role in person["roles"] if role in ROLES and role not in NOT_DELEGATED)
    if not roles:
        raise Forbidden(f"person {person['person_id']} holds only roles of administration, which no system acts under")
    _require_district(system, person["district_id"], f"person {person['person_id']}")
    if not person["district_id"]:
        raise Forbidden(f"person {person['person_id']} has no district: a system acts for staff in their district")
    return {
        "subject": person["person_id"],
        "kind": "staff",
        "roles": roles,
        "districts": [person["district_id"]],
        "name": person["name"],
        **_delegation(system),
    }


def _delegation(system):
    return {"actor": system["name"], "delegation": system["system_id"], "grants": list(system["grants"])}


def shown(system):
    """A registration as an administrator sees it: never the credential's digest."""
    return {k: v for k, v in system.items() if k != "credential_digest"}
