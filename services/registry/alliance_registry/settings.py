"""The registry's settings, built once from its config when the service starts.

``id_cards``: the vault that seals, finds and masks ID-card numbers: it seals with ``ID_CARD_KEY``
(a deployment's own; without it the stored numbers cannot be read back) and still opens with the
keys of ``ID_CARD_KEYS_PREVIOUS`` during a rotation; ``id_card_reseal_batch``: how many numbers
one run of the re-sealing timer moves to the current key (``ID_CARD_RESEAL_BATCH``). A key that is
not base64 of at least 32 bytes, a key id outside 1–255 or one given twice stops the service at
start.

``sign_in``: the rules of signing in by one-time code (``SIGN_IN_*``: lifetimes, tries, limits;
a malformed limit stops the service at start); ``tokens``: what mints the token of a person who
signed in, with the people issuer's key (PEOPLE_SIGNING_KEY; the registry is the one service that mints tokens
for people).

``points``: the points each rule of the members' ledger gives (``POINTS_RULES``; an unknown rule
or a value that is not a whole number of points stops the service at start).
"""

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from alliance_platform.identity import TokenService

from .domain.id_cards import IdCardVault
from .domain.points import PointsRules
from .domain.sign_in import SignInRules


@dataclass(frozen=True)
class Settings:
    id_cards: IdCardVault
    id_card_reseal_batch: int
    sign_in: SignInRules
    tokens: TokenService
    points: PointsRules

    @classmethod
    def from_config(cls, config):
        return cls(
            id_cards=IdCardVault(config["ID_CARD_KEY"], config.get("ID_CARD_KEYS_PREVIOUS")),
            id_card_reseal_batch=_positive(config, "ID_CARD_RESEAL_BATCH"),
            sign_in=SignInRules.from_config(config),
            tokens=TokenService.from_config(config),
            points=PointsRules.from_config(config),
        )


def _positive(config, key):
    value = int(config[key])
    if value < 1:
        raise ValueError(f"{key} must be at least 1, not {value}")
    return value


class RegistrySettings(DependencyProvider):
    """Hands every worker the settings built from the service's config at setup."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
