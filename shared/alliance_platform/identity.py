"""Who is calling: signed identity tokens and the checks services make on them.

nameko forwards context data as plain message headers, so anyone who can publish could forge a
header that merely *names* a caller. A caller's identity therefore travels as a JWT signed with
Ed25519 (EdDSA) by its signer's private key; services verify it on every call with the public
key set only (``keys.py``), by the token's ``kid``. A key of the people issuer signs people's (and
other systems') tokens; a service's key signs only that service's own identity (kind ``system``,
subject = the service, role ``system``) — anything else it signed is ``Unauthenticated``, so no
service can mint another's power. A service's method grants are its row of ``grants.RPC_CALLS``.
"""

import time
from dataclasses import dataclass, field

import jwt

from . import grants as method_grants
from . import keys
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
    """Verifies identity tokens with the public key set; issues them with the signer's key, if it holds one."""

    def __init__(self, key_set, signing_key=None, cache_size=10_000):
        if not isinstance(key_set, keys.KeySet):
            raise TypeError("TokenService takes a keys.KeySet (and a keys.SigningKey to issue tokens)")
        self.key_set = key_set
        self.signing_key = signing_key
        # Verifying an Ed25519 token costs tens of microseconds; a caller reuses its token for
        # many calls, so verified tokens are remembered until they expire.
        self._cache = {}
        self._cache_size = cache_size

    @classmethod
    def from_config(cls, config):
        """The verifier of ``config``'s key set, issuing people's tokens when it holds the people
        issuer's key (``PEOPLE_SIGNING_KEY``: the registry, the operator's CLI)."""
        key_set = keys.KeySet.load(config.get("TOKEN_PUBLIC_KEYS", keys.DEV))
        signing_key = keys.load_signing_key(
            config.get("PEOPLE_SIGNING_KEY"), keys.PEOPLE, key_set, config.get("PEOPLE_SIGNING_KEY_ID")
        )
        return cls(key_set, signing_key)

    @classmethod
    def for_service(cls, config, service=None):
        """Issues the service's own tokens with its key (``SIGNING_KEY``) and verifies with the key set."""
        service = service or config["SERVICE_NAME"]
        key_set = keys.KeySet.load(config.get("TOKEN_PUBLIC_KEYS", keys.DEV))
        signer = keys.service_signer(service)
        signing_key = keys.load_signing_key(config.get("SIGNING_KEY"), signer, key_set, config.get("SIGNING_KEY_ID"))
        if signing_key is None:
            raise keys.KeyConfigError(f"{service} calls other services but holds no signing key (SIGNING_KEY)")
        return cls(key_set, signing_key)

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
        if self.signing_key is None:
            raise RuntimeError("this process holds no signing key: it verifies tokens but cannot issue them")
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
        service = keys.signer_service(self.signing_key.signer)
        if service is not None:
            problem = _beyond_service(claims, service)
            if problem:
                raise ValueError(f"{service}'s key signs only its own identity: {problem}")
        return jwt.encode(claims, self.signing_key.key, algorithm=keys.ALGORITHM, headers={"kid": self.signing_key.kid})

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
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid identity token: {exc}") from exc
        public = self.key_set.get(kid) if isinstance(kid, str) else None
        if public is None:
            raise Unauthenticated("identity token signature is not valid: signed by no key of the key set")
        try:
            claims = jwt.decode(
                token,
                public.key,
                algorithms=[keys.ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("identity token has expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("identity token signature is not valid") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid identity token: {exc}") from exc
        kind = claims.get("kind")
        roles = claims.get("roles")
        if kind not in KINDS or not isinstance(roles, list):
            raise Unauthenticated("identity token lacks a valid kind or roles")
        service = keys.signer_service(public.signer)
        if service is not None:
            problem = _beyond_service(claims, service)
            if problem:
                raise Unauthenticated(f"identity token signed by {service}'s key claims more than {service}: {problem}")
            granted = method_grants.service_grants(service)
        else:
            granted = _grants(claims)
        actor = _actor(claims)
        return Identity(
            subject=claims["sub"],
            kind=kind,
            roles=frozenset(roles),
            districts=frozenset(claims.get("districts") or ()),
            merchant_id=claims.get("merchant_id"),
            name=claims.get("name"),
            expires_at=float(claims["exp"]),
            actor=actor,
            delegation=claims.get("dlg") if actor else None,
            grants=granted,
        )


def _beyond_service(claims, service):
    """What a token signed by ``service``'s key claims beyond that service's own identity (None: nothing)."""
    if claims.get("kind") != "system" or claims.get("sub") != service:
        return f"it names {claims.get('kind')}:{claims.get('sub')}"
    if not set(claims.get("roles") or ()) <= {"system"}:
        return f"roles {sorted(set(claims['roles']) - {'system'})}"
    extra = sorted({"merchant_id", "act", "dlg", "grants"} & set(claims))
    if extra:
        return f"claims {extra}"
    return None


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
