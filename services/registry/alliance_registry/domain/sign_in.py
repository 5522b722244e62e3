"""Signing in to the staff console with a one-time code sent to one's mobile.

- Who: a person whose roles include one of ``SIGN_IN_ROLES`` (a merchant's owner is not staff).
  Anyone may ask for a code for any mobile and gets the same answer; a code is made and kept for
  every mobile asked for, but sent only to a person who may sign in — so neither the answer nor
  what ``sign_in`` says afterwards tells whether a mobile belongs to someone.
- The code: ``CODE_DIGITS`` digits from the system's secure random source, kept only as a keyed
  hash (HMAC-SHA256 under a key derived from SIGN_IN_CODE_SECRET, over the mobile, the code and a
  salt of its own), valid ``code_ttl`` seconds, at most ``max_tries`` wrong tries; a new code
  replaces the previous one, and a code signs in once.
- How often: per mobile and per client (the HTTP client's address the gateway passes) at most so
  many codes in each window (``Limit``), and a pause of ``resend_after`` seconds before another
  code to the same mobile.
- The token: kind ``staff``, subject the person, the person's roles that the platform's tokens
  know, their district (an administrator's or operator's: every district), their name.

Every rule takes the time it is given (the use case's ``ctx.now``), never the clock.
"""

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from alliance_platform.identity import ALL_DISTRICTS, ROLES

SIGN_IN_ROLES = ("staff", "branch_secretary", "department_liaison", "volunteer", "admin", "operator")
EVERY_DISTRICT_ROLES = ("admin", "operator")
CODE_DIGITS = 6
SALT_BYTES = 16
_KEY_LABEL = b"alliance registry: sign-in codes"


@dataclass(frozen=True)
class Limit:
    """At most ``codes`` codes in any ``seconds``."""

    codes: int
    seconds: int


def parse_limits(text):
    """``"3/600, 10/86400"`` -> (Limit(3, 600), Limit(10, 86400)); a malformed one raises ValueError."""
    limits = []
    for part in str(text or "").split(","):
        if not part.strip():
            continue
        codes, slash, seconds = part.strip().partition("/")
        try:
            limit = Limit(int(codes), int(seconds))
        except ValueError:
            limit = None
        if not slash or limit is None or limit.codes < 1 or limit.seconds < 1:
            raise ValueError(f"a limit is CODES/SECONDS with both at least 1, e.g. 3/600; got {part.strip()!r}")
        limits.append(limit)
    return tuple(limits)


@dataclass(frozen=True)
class SignInRules:
    code_ttl: int
    max_tries: int
    token_ttl: int
    resend_after: int
    per_mobile: tuple
    per_client: tuple
    key: bytes = field(repr=False)  # never in a log line

    @classmethod
    def from_config(cls, config):
        return cls(
            code_ttl=int(config["SIGN_IN_CODE_TTL"]),
            max_tries=int(config["SIGN_IN_MAX_TRIES"]),
            token_ttl=int(config["SIGN_IN_TOKEN_TTL"]),
            resend_after=int(config["SIGN_IN_RESEND_AFTER"]),
            per_mobile=parse_limits(config["SIGN_IN_CODES_PER_MOBILE"]),
            per_client=parse_limits(config["SIGN_IN_CODES_PER_CLIENT"]),
            key=code_key(config["SIGN_IN_CODE_SECRET"]),
        )

    @property
    def code_minutes(self):
        """How long a code is valid, in whole minutes as a message says it."""
        return math.ceil(self.code_ttl / 60)

    def mobile_window(self):
        """How far back a mobile's earlier requests matter."""
        return timedelta(seconds=max([self.resend_after, *(limit.seconds for limit in self.per_mobile)]))

    def client_window(self):
        return timedelta(seconds=max([0, *(limit.seconds for limit in self.per_client)]))

    def digest(self, mobile, code, salt):
        message = b"\x00".join((mobile.encode(), code.encode(), bytes(salt)))
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def matches(self, stored, mobile, code, salt):
        return hmac.compare_digest(bytes(stored), self.digest(mobile, code, salt))


def code_key(secret):
    """The key of the codes' hashes, from the registry's SIGN_IN_CODE_SECRET (no signing key)."""
    if len(secret or "") < 32:
        raise ValueError("SIGN_IN_CODE_SECRET must be at least 32 characters")
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def new_code(randbelow=secrets.randbelow):
    return f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt():
    return secrets.token_bytes(SALT_BYTES)


# How often ---------------------------------------------------------------------------------------


def wait_for_another(earlier, limits, now, pause=0):
    """Whole seconds until another code may be sent (0: now), given the instants ``earlier`` of
    the codes sent before within the limits' windows, the ``limits`` and the ``pause`` after the
    last one."""
    wait = timedelta(0)
    times = sorted(earlier)
    if times and pause:
        wait = max(wait, times[-1] + timedelta(seconds=pause) - now)
    for limit in limits:
        window = timedelta(seconds=limit.seconds)
        recent = [t for t in times if t > now - window]
        if len(recent) >= limit.codes:
            # The oldest code that must leave the window before one more fits in it.
            wait = max(wait, recent[len(recent) - limit.codes] + window - now)
    return max(0, math.ceil(wait.total_seconds()))


def too_many(wait_seconds):
    minutes = max(1, math.ceil(wait_seconds / 60))
    return f"too many codes; try again in {minutes} minute{'s' if minutes != 1 else ''}"


# Trying a code -----------------------------------------------------------------------------------


def refusal(code, now, max_tries):
    """Why the stored ``code`` (a row, or None) can sign nobody in at ``now``, or None."""
    if code is None:
        return "no sign-in code was requested for this mobile; request one"
    if code["used_at"] is not None:
        return "this code was used already; request a new one"
    if code["tries"] >= max_tries:
        return "too many wrong codes; request a new one"
    if now >= code["expires_at"]:
        return "the code has expired; request a new one"
    return None


def wrong_code(tries_left):
    if tries_left <= 0:
        return "wrong code; no tries left: request a new one"
    return f"wrong code; {tries_left} tr{'ies' if tries_left != 1 else 'y'} left"


# Who signs in as whom ----------------------------------------------------------------------------


def may_sign_in(person):
    return person is not None and any(role in SIGN_IN_ROLES for role in person["roles"])


def token_claims(person):
    """What the person's token says: TokenService.issue's arguments but the lifetime."""
    roles = sorted(role for role in person["roles"] if role in ROLES)
    if any(role in EVERY_DISTRICT_ROLES for role in roles):
        districts = [ALL_DISTRICTS]
    else:
        districts = [person["district_id"]] if person["district_id"] else []
    return {
        "subject": person["person_id"],
        "kind": "staff",
        "roles": roles,
        "districts": districts,
        "name": person["name"],
    }
