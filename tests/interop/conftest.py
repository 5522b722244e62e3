"""The interop tests run against the four services as real processes, as the end-to-end tests do."""

from tests.e2e.conftest import system, system_env  # noqa: F401  (fixtures)
