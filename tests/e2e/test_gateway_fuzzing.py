"""Property-based API testing of the live gateway (issue 15): schemathesis reads the document the
gateway serves and calls every operation with examples it generates from it, as an administrator
(so calls reach deep into the services) — no answer may be a 5xx, and every answer must conform
to the document: its status is documented, its content type and headers are the documented ones,
its body validates against the documented schema. The gateway and the four services run as real
processes on the test's databases and vhost, with result validation on."""

import os
from collections import Counter, defaultdict

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# An invalid call must be refused: with a 4xx the document names (a request line over the web
# server's 8 KiB is 414 before any operation; a body over the operation's limit 413).
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 409, 413, 414, 415]}}}
)
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "8"))  # per operation and mode: bounded


@pytest.fixture
def live(system, tokens):
    address = os.environ["GATEWAY_HTTP_ADDRESS"]
    base = f"http://{address}"
    token = tokens.issue("fuzz-admin", "staff", roles=["admin"], districts=["*"], ttl=3600)
    return base, token


def _fuzz(operation, base, session, mode, statuses, token):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    # The token is the caller's, not generated: negative examples go wrong in the call, not in who calls.
    @given(case=operation.as_strategy(generation_mode=mode, headers={"Authorization": f"Bearer {token}"}))
    def check(case):
        response = case.call(base_url=base, session=session, timeout=30)
        statuses[operation.label].append(response.status_code)
        checks = CHECKS + ([negative_data_rejection] if mode == schemathesis.GenerationMode.NEGATIVE else [])
        case.validate_response(response, checks=checks, transport_kwargs={"base_url": base, "session": session})

    check()


def _negatable(operation):
    definition = operation.definition.raw
    named = [p for p in definition.get("parameters", []) if "$ref" not in p]  # the shared ones are headers
    return bool(named or definition.get("requestBody"))


def _short(exc):
    """The failure's report without the reproducing curl command (its URL may run to kilobytes)."""
    text = str(exc)
    return "\n".join(line[:300] for line in text.splitlines() if not line.lstrip().startswith("curl "))[:2500]


# One test for every operation (the schema is read from the running gateway): ~130 operations at
# up to 16 calls each, 70 s on a quiet machine, several minutes on a loaded one.
@pytest.mark.timeout(900)
def test_every_operation_answers_within_its_document(live):
    base, token = live
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=CONFIG)
    session = requests.Session()
    failures, counted, statuses = {}, 0, defaultdict(list)
    for result in schema.get_all_operations():
        operation = result.ok()
        counted += 1
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            if mode == schemathesis.GenerationMode.NEGATIVE and not _negatable(operation):
                continue  # nothing a caller sends can be wrong (no parameters, no body; the token is fixed)
            try:
                _fuzz(operation, base, session, mode, statuses, token)
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, reported together
                failures[f"{operation.label} [{mode.value}]"] = _short(exc)
    answered = Counter(code for codes in statuses.values() for code in codes)
    reached = sorted(label for label, codes in statuses.items() if 200 in codes)
    print(f"{counted} operations, {sum(answered.values())} calls, statuses {dict(sorted(answered.items()))}")
    print(f"{len(reached)} operations answered 200 at least once; {len(failures)} failing")
    assert counted >= 70
    # The fuzzing went past the front door: operations were carried out, not only refused.
    print("answered 200:", reached)
    assert len(reached) >= 15, sorted(set(statuses) - set(reached))
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
