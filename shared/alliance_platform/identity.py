"""Who is calling: signed identity tokens and the checks services make on them.

nameko forwards context data as plain message headers, so anyone who can publish could forge a
header that merely *names* a caller. A caller's identity therefore travels as a JWT signed with
the alliance's secret (HS256); services verify it on every call. Rotation: tokens are signed with
the current secret, and the previous secrets stay accepted until they are removed from config.
"""

import time
from dataclasses import dataclass, field

import jwt

from . import grants as method_grants
from .errors import Forbidden, Unauthenticated

ISSUER = "alliance"
ALL_DISTRICTS = "*"

# The kinds of caller and the roles the platform knows. Roles are what RPC methods allow;
# a person may hold several.
KINDS = frozenset({"staff", "merchant", "system"})
ROLES = frozenset(
    {
        "admin",  # alliance administrator: reads and writes everything
        "operator",  # runs the platform: dead letters, deliveries, health
        "staff",  # service-centre staff, scoped to districts
        "branch_secretary",
        "department_liaison",  # a government department's or bank's liaison
        "volunteer",
        "party_member",
        "merchant",  # a merchant's owner or representative, scoped to one merchant
        "system",  # another internal system or service
    }
)


@dataclass(frozen=True)
class Identity:
    subject: str
    kind: str
    roles: frozenset = field(default_factory=frozenset)
    districts: frozenset = field(default_factory=frozenset)
    merchant_id: str | None = None
    name: str | None = None
    expires_at: float = 0.0
    # Delegation (RFC 8693's ``act`` claim): the internal system acting on this person's behalf,
    # e.g. "miniprogram"; None when the subject acts itself. ``delegation`` names the grant it
    # acts under (revocable by an administrator).
    actor: str | None = None
    delegation: str | None = None
    # The RPC methods it may call ("service.method" or "service.*" each): a service's own identity
    # has its row of grants.RPC_CALLS, a token with a ``grants`` claim those; None: not limited by
    # method grants (people, whose roles the methods check).
    grants: frozenset | None = None

    def has_any_role(self, roles):
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self):
        return "admin" in self.roles

    def covers_district(self, district):
        return self.is_admin or ALL_DISTRICTS in self.districts or district in self.districts

    def require_roles(self, *roles):
        if not self.has_any_role(roles):
            raise Forbidden(f"{self.kind} {self.subject} lacks any of the roles {sorted(roles)}")

    def require_grant(self, entrypoint):
        """Refuse a call of ``entrypoint`` ("service.method") that this identity's grants do not cover."""
        if self.grants is not None and not method_grants.covers(self.grants, entrypoint):
            raise Forbidden(f"{self.kind} {self.subject} is not granted {entrypoint}")

    def require_district(self, district):
        if not self.covers_district(district):
            raise Forbidden(f"{self.kind} {self.subject} may not act in district {district}")

    @property
    def on_behalf_of(self):
        """``kind:subject`` of the person a delegated call is made for; None when not delegated."""
        return f"{self.kind}:{self.subject}" if self.actor else None

    @property
    def acted_by(self):
        """Who made the call: the acting system for a delegated call, else the subject."""
        return f"system:{self.actor}" if self.actor else f"{self.kind}:{self.subject}"

    def log_fields(self):
        fields = {"caller": f"{self.kind}:{self.subject}"}
        if self.actor:
            fields["acting_system"] = self.actor
        return fields


class TokenService:
    """Issues and verifies identity tokens with the current and previously accepted secrets."""

    def __init__(self, secret, previous=(), cache_size=10_000):
        if len(secret or "") < 32:
            raise ValueError("SIGNING_SECRET must be at least 32 characters (HS256 needs a 256-bit key)")
        self.secret = secret
        self.accepted = [secret, *[s for s in previous if s]]
        # Verifying an HS256 token costs tens of microseconds; a caller reuses its token for
        # many calls, so verified tokens are remembered until they expire.
        self._cache = {}
        self._cache_size = cache_size

    @classmethod
    def from_config(cls, config):
        previous = str(config.get("SIGNING_SECRETS_PREVIOUS") or "").split(",")
        return cls(config["SIGNING_SECRET"], [p.strip() for p in previous])

    def issue(
        self,
        subject,
        kind,
        roles=(),
        districts=(),
        merchant_id=None,
        name=None,
        ttl=3600,
        now=None,
        actor=None,
        delegation=None,
        grants=None,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
        unknown = set(roles) - ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {sorted(ROLES)}")
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "sub": str(subject),
            "kind": kind,
            "roles": sorted(roles),
            "districts": sorted(districts),
            "iat": issued,
            "exp": issued + int(ttl),
        }
        if merchant_id is not None:
            claims["merchant_id"] = str(merchant_id)
        if name is not None:
            claims["name"] = name
        if actor is not None:
            claims["act"] = {"sub": str(actor)}
            if delegation is not None:
                claims["dlg"] = str(delegation)
        if grants is not None:
            claims["grants"] = sorted({str(g) for g in grants})
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token):
        if not token:
            raise Unauthenticated("no identity token: every call must carry a signed identity")
        if not isinstance(token, str):
            raise Unauthenticated("identity token must be a string")
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            del self._cache[token]
        identity = self._decode(token)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = identity
        return identity

    def _decode(self, token):
        claims = None
        for secret in self.accepted:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=["HS256"],
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "sub", "iss"]},
                )
                break
            except jwt.ExpiredSignatureError as exc:
                raise Unauthenticated("identity token has expired") from exc
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError as exc:
                raise Unauthenticated(f"invalid identity token: {exc}") from exc
        if claims is None:
            raise Unauthenticated("identity token signature is not valid")
        kind = claims.get("kind")
        roles = claims.get("roles")
        if kind not in KINDS or not isinstance(roles, list):
            raise Unauthenticated("identity token lacks a valid kind or roles")
        return Identity(
            subject=claims["sub"],
            kind=kind,
            roles=frozenset(roles),
            districts=frozenset(claims.get("districts") or ()),
            merchant_id=claims.get("merchant_id"),
            name=claims.get("name"),
            expires_at=float(claims["exp"]),
            actor=_actor(claims),
            delegation=claims.get("dlg") if _actor(claims) else None,
            grants=_grants(claims),
        )


def _actor(claims):
    act = claims.get("act")
    if act is None:
        return None
    if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or not act["sub"]:
        raise Unauthenticated("identity token has a malformed act (actor) claim")
    return act["sub"]


def _grants(claims):
    found = claims.get("grants")
    if found is None:
        return None
    if not isinstance(found, list) or not all(isinstance(g, str) and "." in g for g in found):
        raise Unauthenticated("identity token has a malformed grants claim")
    return frozenset(found)
