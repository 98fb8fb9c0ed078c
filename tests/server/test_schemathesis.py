"""Property-based API testing: schemathesis generates requests from /openapi.json.

For every backend, each operation gets positive (schema-valid) and negative
(schema-violating) requests; together well over 1,000 per run. Every response must be
below 500, have a documented status code, content type and headers, and a body valid
against the documented schema. Half the requests with a ``session_id`` in the path are
pointed at real sessions, so handlers run past the 404.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sessiondb.server import create_app

from .conftest import TOOL_TURN

schemathesis = pytest.importorskip("schemathesis")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette wants the renamed httpx2
    import schemathesis.openapi
    from schemathesis import GenerationMode, checks

EXAMPLES = int(os.environ.get("SESSIONDB_SCHEMATHESIS_EXAMPLES", "22"))
SEEDS = ["seed-a", "seed-b"]
# Streams until its timeout: checked by test_api's event tests instead.
SKIPPED = {"GET /v1/sessions/{session_id}/events"}


def _checks() -> list:
    return [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.response_headers_conformance,
    ]


def _fuzz(store, operation, mode, examples: int, sent: Counter[str], label: str) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode), seed=st.sampled_from([*SEEDS, None]))
    def run(case, seed):
        for sid in SEEDS:
            store.ensure_session(sid)
        if seed is not None and "session_id" in (case.path_parameters or {}):
            case.path_parameters["session_id"] = seed
        response = case.call()
        sent[label] += 1
        case.validate_response(response, checks=_checks())

    run()


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`:UserWarning")
def test_generated_requests_get_valid_responses_and_no_server_errors(store):
    for sid in SEEDS:
        store.create_session(sid, title=sid, agent="agent")
        store.append(sid, TOOL_TURN, model="m")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store))
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIPPED:
            continue
        for mode, share in ((GenerationMode.POSITIVE, 2), (GenerationMode.NEGATIVE, 1)):
            try:
                _fuzz(store, operation, mode, EXAMPLES * share, sent, label)
            except Exception as exc:  # collect every operation's failure, then report
                failures[f"{label} ({mode.value})"] = f"{type(exc).__name__}: {exc}"[:3000]

    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    total = sum(sent.values())
    print(f"schemathesis: {total} requests over {len(sent)} operations")
    assert total >= (1000 if EXAMPLES >= 20 else 1), sent
