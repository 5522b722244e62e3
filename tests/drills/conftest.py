"""Fixtures of the drills that lose a broker node: one three-node cluster shared by the module."""

import pytest

from tests.support.cluster import RabbitCluster
from tests.support.servers import workdir


@pytest.fixture(scope="module")
def rabbit_cluster():
    with workdir("alliance-cluster-") as folder, RabbitCluster(folder) as cluster:
        yield cluster
