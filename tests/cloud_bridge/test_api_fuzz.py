"""An OpenAPI-driven fuzz run (schemathesis) over every documented operation: whatever it
sends, the API answers without a 5xx. Bounded (examples per operation) to fit in CI.

Schemathesis generates the cases from the app's own OpenAPI document; the requests go through
one Starlette TestClient that this test owns (so no client thread outlives the test).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from cloud_bridge.api import create_app
from cloud_bridge.ingest import BatchWriter
from cloud_bridge.settings import load_settings
from tests.support import cloud_key
from tests.support.kiosk_messages import FakeKiosk

from .api_support import make_keys, record

EXAMPLES = int(os.environ.get("NONGAN_FUZZ_EXAMPLES", "15"))


def test_no_generated_request_makes_the_api_fail(store: Engine, kiosk: FakeKiosk,
                                                 writer: BatchWriter) -> None:
    record(writer, kiosk.certificate(), kiosk.reading(call="positive"), kiosk.producer("p-1"),
           kiosk.status(), kiosk.telemetry())
    keys = make_keys(store)
    app = create_app(load_settings(None, api={"public_rate_per_minute": 0},
                                   signing={"key_file": str(cloud_key.key_file())}),
                     engine=store)
    failures: list[str] = []
    calls = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        # From the document itself: loading it over ASGI would leave schemathesis's own
        # client thread running.
        schema = schemathesis.openapi.from_dict(app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20, "every route is in the OpenAPI document"
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                nonlocal calls
                role = "market" if case.path.endswith("/checks") else "supervisor"
                request = case.as_transport_kwargs(base_url="http://testserver",
                                                   headers=keys.auth(role))
                request.pop("app", None)
                for unsupported in ("verify", "timeout", "allow_redirects"):
                    request.pop(unsupported, None)
                if isinstance(request.get("data"), (bytes, str)):
                    request["content"] = request.pop("data")
                cookies = request.pop("cookies", None) or {}
                client.cookies.clear()
                client.cookies.update(cookies)
                response = client.request(**request)
                calls += 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {request.get('url')}: "
                                    f"{response.status_code} {response.text[:200]}")

            fuzz()
    assert calls > 100
    assert failures == []
