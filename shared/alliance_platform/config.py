"""Service configuration: the platform's defaults overlaid by the service's own YAML.

Values use nameko's ``${ENV_VAR:default}`` syntax, so every value can be overridden by an
environment variable and the repository only holds local-development defaults.

A service with a database may also be given ``READ_DATABASE_URL`` (environment
``<SERVICE>_READ_DATABASE_URL``, or the key in its config.yaml): a standby for its read-only calls
(``store.Database``; docs/ARCHITECTURE.md, "Reading from a standby").
"""

import os
from importlib import resources
from importlib.metadata import entry_points

import yaml
from nameko.cli.main import setup_yaml_parser

setup_yaml_parser()


def _load_yaml(text):
    return yaml.safe_load(text) or {}


def platform_defaults():
    return _load_yaml(resources.files("alliance_platform").joinpath("defaults.yaml").read_text())


def installed_services():
    """Names of the services installed in this environment, in a stable order."""
    return sorted(ep.name for ep in entry_points(group="alliance.services"))


def service_class(name):
    """The nameko service class registered under ``name`` by its package's entry point."""
    found = entry_points(group="alliance.services", name=name)
    if not found:
        raise LookupError(f"unknown service {name!r}; installed: {installed_services()}")
    return next(iter(found)).load()


def service_package(name):
    return service_class(name).__module__.split(".")[0]


def load_config(name, overrides=None):
    """The configuration of service ``name``, environment applied, then ``overrides``."""
    config = platform_defaults()
    package = service_package(name)
    config.update(_load_yaml(resources.files(package).joinpath("config.yaml").read_text()))
    if "DATABASE_URL" in config:
        # A second, read-only URL (a standby): unset, the service reads from its primary too.
        env = f"{name.upper()}_READ_DATABASE_URL"
        config.setdefault("READ_DATABASE_URL", os.environ.get(env) or None)
    config.update(overrides or {})
    config["SERVICE_NAME"] = name
    return config
