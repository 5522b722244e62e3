"""Input fuzzing over every RPC method of every service: a malformed call gets a typed error, no
service crashes, and a refused call writes nothing.

Inputs are drawn by hypothesis from each method's own schema: the right field names with values of
every JSON type (and strings with characters PostgreSQL refuses), unknown fields, and positional
junk. A method answering with anything but its result or a typed ``AllianceError`` fails the test.
"""

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_platform.config import installed_services, service_class
from alliance_platform.errors import AllianceError
from tests.support.helpers import get_json, http_port

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["\x00", "'; DROP TABLE x; --", "9" * 400, "2026-13-45T99:00:00", "00000000-0000-4000-8000-000000000000"]
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _methods():
    for name in installed_services():
        cls = service_class(name)
        for attr in sorted(dir(cls)):
            method = getattr(cls, attr)
            if hasattr(method, "rpc_schema"):
                yield name, attr, method.rpc_schema


METHODS = list(_methods())


def calls(schema):
    fields = list(schema.fields) if schema is not None else []
    named = st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields)) if fields else st.just({})
    unknown = st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=2)
    return st.tuples(st.lists(json_values, max_size=2), named, unknown).map(lambda t: (t[0], {**t[2], **t[1]}))


class RowCounts:
    """The number of rows in every table of a service's database: what a refused call must leave
    unchanged. The tables are listed once (the schema does not change during the test) and counted,
    each on its own, in one statement over one connection kept open for the test."""

    def __init__(self, database):
        self.conn = psycopg.connect(database, autocommit=True)
        tables = [
            name
            for (name,) in self.conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        assert tables, "the service's database has no tables"
        self.tables = tables
        self.statement = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}") AS "{t}"' for t in tables)

    def __call__(self):
        return dict(zip(self.tables, self.conn.execute(self.statement).fetchone(), strict=True))

    def close(self):
        self.conn.close()


def _fuzz(method, schema, rows, name):
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(call=calls(schema))
    def refused_cleanly(call):
        args, kwargs = call
        before = rows()
        try:
            method(*args, **kwargs)
        except AllianceError:
            after = rows()
            assert after == before, f"{name} refused a call but wrote: " + ", ".join(
                f"{t} {before[t]} -> {after[t]}" for t in before if after[t] != before[t]
            )

    refused_cleanly()


@pytest.mark.parametrize("service", sorted({name for name, _, _ in METHODS}))
def test_every_rpc_method_answers_malformed_input_with_a_typed_error(
    service, container_factory, service_config, client
):
    container = container_factory(service_class(service), service_config(service))
    container.start()
    methods = [(attr, schema) for name, attr, schema in METHODS if name == service]
    rows = RowCounts(container.config["DATABASE_URL"])

    try:
        with client(timeout=10) as alliance:
            for attr, schema in methods:
                _fuzz(getattr(getattr(alliance, service), attr), schema, rows, f"{service}.{attr}")
    finally:
        rows.close()
    # Still alive and answering after everything it was fed.
    assert get_json(f"http://127.0.0.1:{http_port(container)}/health/ready")[0] == 200
