"""Schemathesis against the OpenAPI schema of a real server on 127.0.0.1: every operation,
with generated valid and invalid requests, must answer without a 500 and as its schema says
(status, content type, body, headers). A stateful run then chains operations through the
schema's links (upload a document, then delete it).

Bounded: `EXAMPLES` generated requests per operation and mode, `STATEFUL` short sequences.
The server runs the fake embedder over a tiny index; uploads go to a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import FakeEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_api import build_index, fake_backend, free_port, serve_app

from qa.config import Settings
from qa.web.server import create_app

TOKEN = "schemathesis-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
NO_INPUT = {"GET /health", "POST /reindex"}
#: Generated requests per operation, for valid and for invalid data each.
EXAMPLES = 40
#: Stateful sequences (of a few calls each).
STATEFUL = 10
#: Valid data may still meet a limit that a schema can't state (the characters of all history
#: turns together, a user turn no longer than a question): 413, with its JSON error.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]}}})
_SETTINGS = dict(deadline=None, derandomize=bool(os.environ.get("CI")),
                 suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    fake = FakeEmbedder()
    config = Settings(index_dir=tmp / "index", model=fake.name, abstain_threshold=0.1,
                      admin_token=TOKEN, uploads_dir=tmp / "uploads",
                      max_upload_bytes=20_000, max_request_bytes=200_000,
                      auth_failures_per_minute=1_000_000)
    build_index(tmp / "docs", config, fake)
    holder, _ = fake_backend(config, fake)
    with serve_app(create_app(config, holder), free_port()) as url:
        yield schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json", config=CONFIG)
    holder.answerer().retriever.store.close()


def _excluded(label: str) -> list[Any]:
    """An upload's file name and content decide whether it can be indexed (415, 422), which
    no schema can say; every other check still applies to it."""
    return [positive_data_acceptance] if label == "POST /documents" else []


def _checker(operation: Any, mode: GenerationMode, calls: dict[str, int]) -> Any:
    """A hypothesis test sending `EXAMPLES` generated requests to one operation."""
    excluded = _excluded(operation.label)

    @settings(max_examples=EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
        _without_host(case)
        case.call_and_validate(headers=HEADERS, excluded_checks=excluded)

    return check


def _without_host(case: Any) -> None:
    """Drop a generated `Host` header: invalid data may add one ("host: rzs\\"), and the
    server's DNS-rebinding guard refuses it with a plain 400 before any route is reached
    (test_hardening checks that guard), so it says nothing of the API the schema describes."""
    for name in [n for n in (case.headers or {}) if n.lower() == "host"]:
        del case.headers[name]


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_has_every_operation(api_schema: Any) -> None:
    labels = {op.label for op in _operations(api_schema)}
    assert labels == {"POST /ask", "GET /health", "GET /documents", "POST /documents",
                      "DELETE /documents/{doc_id}", "POST /reindex"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_every_operation_answers_as_its_schema_says(api_schema: Any,
                                                    mode: GenerationMode) -> None:
    calls: dict[str, int] = {}
    for operation in _operations(api_schema):
        try:
            _checker(operation, mode, calls)()
        except Unsatisfiable:
            # An operation taking no input (GET /health, POST /reindex) has no invalid form.
            assert mode is GenerationMode.NEGATIVE and operation.label in NO_INPUT
    print(f"schemathesis {mode.value}: {sum(calls.values())} requests: {calls}")
    assert len(calls) == 6 if mode is GenerationMode.POSITIVE else set(calls) >= {
        "POST /ask", "GET /documents", "POST /documents", "DELETE /documents/{doc_id}"}


def test_chains_of_operations_through_the_links(api_schema: Any) -> None:
    machine = api_schema.as_state_machine()
    calls: dict[str, int] = {}

    class WithToken(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            return {"headers": HEADERS}

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, additional_checks=additional_checks,
                                   excluded_checks=_excluded(case.operation.label),
                                   transport_kwargs=kwargs)

    WithToken.run(settings=settings(max_examples=STATEFUL, stateful_step_count=4,
                                    **_SETTINGS))  # type: ignore[arg-type]
    print(f"schemathesis stateful: {sum(calls.values())} requests: {calls}")
    assert calls.get("DELETE /documents/{doc_id}", 0) > 0  # reached through a link
