"""ALLIANCE_ENV=production (the image's default) refuses the committed development keys: a
deployment that forgot its keys fails to start instead of running on keys anyone can read."""

import json

import pytest

from alliance_platform import keys
from alliance_platform.identity import TokenService

PEOPLE = keys.generate(keys.PEOPLE)
TICKETS = keys.generate(keys.service_signer("tickets"))
DEPLOYED = keys.KeySet([PEOPLE.public(), TICKETS.public()])
DEV_TICKETS = next(key for key in keys.dev_keys() if key.signer == "service:tickets")


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv(keys.ENVIRONMENT, "production")


def _service_config(**overrides):
    return {"SERVICE_NAME": "tickets", "TOKEN_PUBLIC_KEYS": DEPLOYED.jwks(), "SIGNING_KEY": TICKETS.private_pem()} | (
        overrides
    )


def test_outside_production_the_development_keys_serve(monkeypatch):
    monkeypatch.delenv(keys.ENVIRONMENT, raising=False)
    assert not keys.in_production()
    tokens = TokenService.for_service({"SERVICE_NAME": "tickets", "TOKEN_PUBLIC_KEYS": "dev", "SIGNING_KEY": "dev"})
    assert tokens.signing_key.kid == DEV_TICKETS.kid
    monkeypatch.setenv(keys.ENVIRONMENT, "development")
    assert not keys.in_production()


def test_production_accepts_the_deployments_own_keys(production):
    assert keys.in_production({keys.ENVIRONMENT: " Production "})
    tokens = TokenService.for_service(_service_config())
    assert tokens.signing_key.kid == TICKETS.kid
    people = TokenService.from_config(
        {"TOKEN_PUBLIC_KEYS": DEPLOYED.jwks(), "PEOPLE_SIGNING_KEY": PEOPLE.private_pem()}
    )
    assert tokens.verify(people.issue("ops", "staff", roles=["operator"])).subject == "ops"


@pytest.mark.parametrize(
    "config",
    [
        # Nothing configured: the platform's defaults are "dev".
        {"SERVICE_NAME": "tickets"},
        _service_config(TOKEN_PUBLIC_KEYS="dev"),
        _service_config(SIGNING_KEY="dev"),
        # A development public key slipped into the set (alliance keys jwks --dev ...), with its private key.
        _service_config(TOKEN_PUBLIC_KEYS={"keys": [*DEPLOYED.jwks()["keys"], DEV_TICKETS.public().jwk()]}),
        _service_config(
            TOKEN_PUBLIC_KEYS={"keys": [DEV_TICKETS.public().jwk()]}, SIGNING_KEY=DEV_TICKETS.private_pem()
        ),
    ],
    ids=["defaults", "dev-key-set", "dev-signing-key", "dev-key-in-the-set", "dev-key-as-pem"],
)
def test_production_refuses_every_way_a_development_key_gets_in(production, config):
    with pytest.raises(keys.KeyConfigError, match="ALLIANCE_ENV=production refuses"):
        TokenService.for_service(config)


def test_production_refuses_the_development_people_key(production):
    """The registry and the operator's CLI: PEOPLE_SIGNING_KEY defaults to "dev"."""
    with pytest.raises(keys.KeyConfigError, match="development signing key of people"):
        TokenService.from_config({"TOKEN_PUBLIC_KEYS": DEPLOYED.jwks(), "PEOPLE_SIGNING_KEY": "dev"})


def test_a_key_set_file_with_a_development_key_is_refused_in_production(production, tmp_path):
    path = tmp_path / "token_public_keys"
    path.write_text(json.dumps(DEPLOYED.jwks()))
    assert len(keys.KeySet.load(str(path))) == 2
    path.write_text(json.dumps({"keys": [*DEPLOYED.jwks()["keys"], DEV_TICKETS.public().jwk()]}))
    with pytest.raises(keys.KeyConfigError, match=DEV_TICKETS.kid):
        keys.KeySet.load(str(path))
