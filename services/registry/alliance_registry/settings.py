"""The registry's settings, built once from its config when the service starts.

``id_cards``: the vault that seals, finds and masks ID-card numbers, keyed by ``ID_CARD_KEY``
(a deployment's own; without it the stored numbers cannot be read back). A key that is not base64
of at least 32 bytes stops the service at start.
"""

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from .domain.id_cards import IdCardVault


@dataclass(frozen=True)
class Settings:
    id_cards: IdCardVault

    @classmethod
    def from_config(cls, config):
        return cls(id_cards=IdCardVault(config["ID_CARD_KEY"]))


class RegistrySettings(DependencyProvider):
    """Hands every worker the settings built from the service's config at setup."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
