"""Signing keys of identity tokens: Ed25519 key pairs, one signer each, and the public key set.

Every signer holds its own private key and nothing else: the issuer of people's tokens
(``people``: the registry's sign-in and the operator's ``alliance token``) and each service for
the tokens of its own calls (``service:<name>``). Every process verifies with the public key set
only — a JWKS document whose keys each carry a ``kid`` and a ``signer`` member saying what it may
sign — so a service's key can sign for that service alone (``identity.TokenService`` checks).

Rotation without downtime: a signer may have several keys in the set. Publish the new public key
in the set everywhere first, then give the signer its new private key (it signs with the key it
holds), and remove the old public key once the tokens it signed have expired (deploy/README.md).

Development: ``dev`` (the default of ``TOKEN_PUBLIC_KEYS``, ``SIGNING_KEY`` and
``PEOPLE_SIGNING_KEY``) means the committed keys of ``dev_keys.json`` — for local runs and tests
only, never for a deployment: deploy/ configures a key set of its own, which knows none of them,
so a process left on a development key is refused (fails closed). And where ``ALLIANCE_ENV`` is
``production`` (the image's default, deploy/Dockerfile) the development keys are refused outright:
``dev`` as a value, or a development public key inside the set — a deployment that forgot its keys
does not start instead of running on keys anyone can read.
"""

import base64
import functools
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PEOPLE = "people"
DEV = "dev"
ALGORITHM = "EdDSA"
# The environment variable saying where a process runs; "production" refuses the development keys.
ENVIRONMENT = "ALLIANCE_ENV"
PRODUCTION = "production"


def in_production(environ=None):
    """True where ``ALLIANCE_ENV`` is ``production`` (the image sets it): no development key is accepted."""
    return (environ if environ is not None else os.environ).get(ENVIRONMENT, "").strip().lower() == PRODUCTION


def _refuse_in_production(what):
    if in_production():
        raise KeyConfigError(
            f"{ENVIRONMENT}=production refuses {what}: the development keys (dev_keys.json) are public. "
            "Give this process the deployment's keys (deploy/make-secrets.sh; deploy/README.md, 'Identity keys')"
        )


def service_signer(service):
    return f"service:{service}"


def signer_service(signer):
    """The service a ``service:<name>`` signer signs for; None for the people issuer."""
    return signer.partition(":")[2] if signer.startswith("service:") else None


def _valid_signer(signer):
    return signer == PEOPLE or (signer.startswith("service:") and bool(signer_service(signer)))


class KeyConfigError(ValueError):
    """A key or key set that cannot be used (the message says why); raised at start-up."""


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(public_key):
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class PublicKey:
    kid: str
    signer: str
    key: Ed25519PublicKey

    def jwk(self):
        x = _b64(_raw_public(self.key))
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "signer": self.signer,
        }


@dataclass(frozen=True)
class SigningKey:
    kid: str
    signer: str
    key: Ed25519PrivateKey

    def private_pem(self):
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def public(self):
        return PublicKey(self.kid, self.signer, self.key.public_key())


class KeySet:
    """The public keys tokens are verified with, by key id, in the order the document lists them."""

    def __init__(self, keys):
        self._keys = {}
        for key in keys:
            if key.kid in self._keys:
                raise KeyConfigError(f"key id {key.kid!r} appears twice in the key set")
            self._keys[key.kid] = key

    def __iter__(self):
        return iter(self._keys.values())

    def __len__(self):
        return len(self._keys)

    def get(self, kid):
        return self._keys.get(kid)

    def of(self, signer):
        return [key for key in self if key.signer == signer]

    def jwks(self):
        return {"keys": [key.jwk() for key in self]}

    @classmethod
    def from_jwks(cls, document):
        if isinstance(document, str | bytes):
            try:
                document = json.loads(document)
            except ValueError as exc:
                raise KeyConfigError(f"the key set is not JSON: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeyConfigError('the key set must be a JWKS document: {"keys": [...]}')
        return cls(_public_from_jwk(jwk) for jwk in document["keys"])

    @classmethod
    def load(cls, value):
        """``TOKEN_PUBLIC_KEYS``: ``dev``, a JWKS document (JSON text) or the path of a file holding one."""
        value = (value or "").strip() if isinstance(value, str) else value
        if not value:
            raise KeyConfigError("TOKEN_PUBLIC_KEYS is empty: every service needs the public key set")
        if isinstance(value, dict):
            return cls.from_jwks(value)._checked()
        if value == DEV:
            _refuse_in_production("TOKEN_PUBLIC_KEYS=dev")
            return cls(key.public() for key in dev_keys())
        if value.startswith("{"):
            return cls.from_jwks(value)._checked()
        path = Path(value)
        if not path.is_file():
            raise KeyConfigError(f"TOKEN_PUBLIC_KEYS names {value}, which is not a file (nor JSON, nor 'dev')")
        return cls.from_jwks(path.read_text())._checked()

    def _checked(self):
        """This set, unless it holds a development key in production (``alliance keys jwks --dev``)."""
        development = _dev_public_raw()
        found = [key.kid for key in self if _raw_public(key.key) in development]
        if found:
            _refuse_in_production(f"a key set holding development keys ({', '.join(found)})")
        return self


def _public_from_jwk(jwk):
    if not isinstance(jwk, dict):
        raise KeyConfigError("every key of the key set must be a JSON object")
    kid, signer = jwk.get("kid"), jwk.get("signer")
    if not isinstance(kid, str) or not kid:
        raise KeyConfigError("every key of the key set needs a kid")
    if not isinstance(signer, str) or not _valid_signer(signer):
        raise KeyConfigError(f"key {kid}: signer must be 'people' or 'service:<name>', not {signer!r}")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise KeyConfigError(f"key {kid}: only Ed25519 keys (kty OKP, crv Ed25519, x) are accepted")
    try:
        key = Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"]))
    except ValueError as exc:
        raise KeyConfigError(f"key {kid}: x is not an Ed25519 public key") from exc
    return PublicKey(kid, signer, key)


def load_signing_key(value, signer, key_set, kid=None):
    """The private key a signer holds: ``dev`` (its newest development key), or a PEM (PKCS#8)
    private key, text or the path of a file. Its key id is the one the key set gives its public
    key (``kid`` if given must be that one), and that key must belong to ``signer``: a process
    cannot start with a key the others would refuse. None when ``value`` is empty."""
    value = (value or "").strip()
    if not value:
        return None
    if value == DEV:
        _refuse_in_production(f"the development signing key of {signer}")
        mine = [key for key in dev_keys() if key.signer == signer]
        if not mine:
            raise KeyConfigError(f"there is no development key for {signer}")
        private = mine[-1].key
    else:
        text = value if value.startswith("-----BEGIN") else _read_file(value)
        try:
            private = serialization.load_pem_private_key(text.encode(), password=None)
        except ValueError as exc:
            raise KeyConfigError(f"the signing key of {signer} is not a PEM private key: {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyConfigError(f"the signing key of {signer} must be an Ed25519 key")
    raw = _raw_public(private.public_key())
    if value != DEV and raw in _dev_public_raw():
        _refuse_in_production(f"a development key as the signing key of {signer}")
    matches = [key for key in key_set if _raw_public(key.key) == raw]
    if not matches:
        raise KeyConfigError(
            f"the signing key of {signer} has no public key in the key set (TOKEN_PUBLIC_KEYS): "
            "publish it there first (alliance keys jwks)"
        )
    public = matches[0]
    if public.signer != signer:
        raise KeyConfigError(f"the signing key given to {signer} is {public.signer}'s (key {public.kid})")
    if kid and kid != public.kid:
        raise KeyConfigError(f"SIGNING_KEY_ID {kid!r} is not the key set's id of this key ({public.kid!r})")
    return SigningKey(public.kid, signer, private)


def _read_file(value):
    path = Path(value)
    if not path.is_file():
        raise KeyConfigError(f"a signing key must be 'dev', a PEM private key or the path of one, not {value[:40]!r}")
    return path.read_text()


def generate(signer, kid=None):
    """A new key pair for ``signer``, with a fresh key id (``<signer>-<date>-<random>``)."""
    if not _valid_signer(signer):
        raise KeyConfigError(f"signer must be 'people' or 'service:<name>', not {signer!r}")
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    kid = kid or f"{signer.replace(':', '-')}-{stamp}-{secrets.token_hex(3)}"
    return SigningKey(kid, signer, Ed25519PrivateKey.generate())


@functools.cache
def _dev_public_raw():
    return frozenset(_raw_public(key.key.public_key()) for key in dev_keys())


def dev_keys():
    """The committed development key pairs (dev_keys.json): NOT FOR PRODUCTION, anyone can read them."""
    document = json.loads(resources.files("alliance_platform").joinpath("dev_keys.json").read_text())
    keys = []
    for jwk in document["keys"]:
        public = _public_from_jwk(jwk)
        keys.append(SigningKey(public.kid, public.signer, Ed25519PrivateKey.from_private_bytes(_unb64(jwk["d"]))))
    return keys
