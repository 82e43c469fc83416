"""Property-based API tests: schemathesis generates requests from the app's OpenAPI schema (a bounded number of
examples per operation, deterministic) with a read-only key; no response may be a 5xx or violate the schema
(status code, content type, response body)."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import pytest

schemathesis = importlib.import_module("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

_OLD_HOME = os.environ.get("QD_HOME")
_HOME = Path(tempfile.mkdtemp(prefix="qd-schemathesis-")) / "qdhome"
os.environ["QD_HOME"] = str(_HOME)


def _build():
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    set_settings(None)
    st = load_settings()
    set_settings(st)
    key, _ = KeyStore(st.home).create_key("schemathesis", read_only=True)
    return create_app(st, rate=1e6, burst=10**6), key


APP, KEY = _build()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", autouse=True)
def _restore_env():
    yield
    from quantdesk.core.config import set_settings

    APP.state.service.shutdown()
    if _OLD_HOME is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = _OLD_HOME
    set_settings(None)


@schema.parametrize()
@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case) -> None:
    case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)
