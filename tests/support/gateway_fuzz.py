"""Schemathesis over a live gateway's operations, shared out to worker processes.

``fuzz_in_workers(base, token, examples, workers)`` starts ``workers`` processes
(``python -m tests.support.gateway_fuzz``, the call's arguments as JSON on stdin). Each reads the
document the gateway serves, takes every ``workers``-th of its operations (operation ``i`` goes to
worker ``i % workers``), calls each as ``fuzz_share`` does, and writes what it found as JSON on
stdout; the parent merges the shares. Processes rather than threads: the suite's process is
monkey-patched by eventlet, under which hypothesis' per-thread state would be shared by green
threads, and the generation and validation of the cases is CPU work that a second process can do
on the second core. Examples are derandomized, so an operation gets the same cases whichever worker
calls it.

Every check of the test runs in the worker, per case; a failure is reported under its operation and
mode (``"GET /v1/tickets [negative]"``) with the case's report, as in one process.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# An invalid call must be refused: with a 4xx the document names (a request line over the web
# server's 8 KiB is 414 before any operation; a body over the operation's limit 413).
NEGATIVE_STATUSES = [400, 401, 403, 404, 405, 409, 413, 414, 415]


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


def _negatable(operation):
    definition = operation.definition.raw
    named = [p for p in definition.get("parameters", []) if "$ref" not in p]  # the shared ones are headers
    return bool(named or definition.get("requestBody"))


def _short(exc):
    """The failure's report without the reproducing curl command (its URL may run to kilobytes)."""
    text = str(exc)
    return "\n".join(line[:300] for line in text.splitlines() if not line.lstrip().startswith("curl "))[:2500]


def _fuzz(operation, base, session, mode, statuses, token, examples, checks):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.specs.openapi.checks import negative_data_rejection

    @settings(
        max_examples=examples,
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
        extra = [negative_data_rejection] if mode == schemathesis.GenerationMode.NEGATIVE else []
        case.validate_response(response, checks=checks + extra, transport_kwargs={"base_url": base, "session": session})

    check()


def fuzz_share(base, token, examples, share=0, shares=1):
    """Fuzz operations ``share``, ``share + shares``, … of the gateway's document, in this process:
    ``{"operations": total in the document, "labels": those fuzzed here, "statuses": {label: [codes]},
    "failures": {"label [mode]": report}}``."""
    import requests
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": NEGATIVE_STATUSES}}}
    )
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
    checks = _checks()
    failures, labels, statuses, total = {}, [], {}, 0
    with requests.Session() as session:
        for index, result in enumerate(schema.get_all_operations()):
            total += 1
            if index % shares != share:
                continue
            operation = result.ok()
            labels.append(operation.label)
            statuses.setdefault(operation.label, [])
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                if mode == schemathesis.GenerationMode.NEGATIVE and not _negatable(operation):
                    continue  # nothing a caller sends can be wrong (no parameters, no body; the token is fixed)
                try:
                    _fuzz(operation, base, session, mode, statuses, token, examples, checks)
                except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, reported together
                    failures[f"{operation.label} [{mode.value}]"] = _short(exc)
    return {"operations": total, "labels": labels, "statuses": statuses, "failures": failures}


def fuzz_in_workers(base, token, examples, workers=4, timeout=840):
    """``fuzz_share`` over all operations, shared out to ``workers`` processes; the shares merged
    (``"operations"`` is the document's count, the same for every worker, or this raises)."""
    arguments = {"base": base, "token": token, "examples": examples, "shares": workers}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    deadline = time.monotonic() + timeout
    shares, problems, processes = [], [], []
    with tempfile.TemporaryDirectory(prefix="gateway-fuzz-") as folder:
        try:
            for share in range(workers):
                (Path(folder) / f"{share}.in").write_text(json.dumps({**arguments, "share": share}))
                with (
                    open(Path(folder) / f"{share}.in") as stdin,
                    open(Path(folder) / f"{share}.out", "w") as stdout,
                    open(Path(folder) / f"{share}.err", "w") as stderr,
                ):  # files, not pipes: a worker never waits on the parent reading another one
                    processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "tests.support.gateway_fuzz"],
                            cwd=ROOT,
                            env=env,
                            stdin=stdin,
                            stdout=stdout,
                            stderr=stderr,
                        )
                    )
            for share, process in enumerate(processes):
                code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
                if code != 0:
                    err = (Path(folder) / f"{share}.err").read_text()
                    problems.append(f"worker {share} of {workers} exited with {code}:\n{err[-4000:]}")
                else:
                    shares.append(json.loads((Path(folder) / f"{share}.out").read_text()))
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    if problems:
        raise AssertionError("\n\n".join(problems))
    totals = {s["operations"] for s in shares}
    if len(totals) != 1:
        raise AssertionError(f"the workers read documents of different sizes: {sorted(totals)}")
    merged = {"operations": totals.pop(), "labels": [], "statuses": {}, "failures": {}}
    for s in shares:
        merged["labels"] += s["labels"]
        merged["statuses"].update(s["statuses"])
        merged["failures"].update(s["failures"])
    return merged


def main():
    arguments = json.loads(sys.stdin.read())
    result = fuzz_share(
        arguments["base"], arguments["token"], arguments["examples"], arguments["share"], arguments["shares"]
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
