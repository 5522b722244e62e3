"""Fixtures shared by the integration tests of the platform's mechanisms."""

import pytest

from tests.support.probe import ProbeService


@pytest.fixture
def probe(container_factory, service_config):
    """The probe service (tests/support/probe.py) running on a fresh database and vhost."""
    container = container_factory(ProbeService, service_config("probe", kind="probe"))
    container.start()
    return container
