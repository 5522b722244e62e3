"""Fixtures of the deployment checks: the deploy/ folder, its definitions generator, broker
passwords of the kind an operator generates, and which services own a database."""

import importlib.util
import secrets
from pathlib import Path

from alliance_platform.config import installed_services, load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def load_definitions_module():
    """deploy/rabbitmq/definitions.py, which is a script beside the files it writes, not a package."""
    spec = importlib.util.spec_from_file_location("alliance_broker_definitions", DEPLOY / "rabbitmq" / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_broker_passwords(directory, users):
    """One ``broker_<user>_password`` file per user, as deploy/make-secrets.sh writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    passwords = {user: secrets.token_hex(16) for user in users}
    for user, password in passwords.items():
        (directory / f"broker_{user}_password").write_text(password + "\n")
    return passwords


def has_database(service):
    """Whether ``service`` owns a database (every service but the gateway): its config names one."""
    return bool(load_config(service).get("DATABASE_URL"))


def database_services():
    """The installed services that own a database, in installed_services() order."""
    return [name for name in installed_services() if has_database(name)]
