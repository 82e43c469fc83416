"""The OpenAPI document says what the server does beyond the routes' own declarations: the key every operation
needs (except /health), the 413 of the body cap on every operation that takes a body, the 415 of a body that is
not JSON, and the `X-API-Version` header on every response."""

from __future__ import annotations

from typing import Any

from quantdesk.api.schemas import Message
from quantdesk.api.version import API_VERSION
from quantdesk.api.version import HEADER as VERSION_HEADER

PUBLIC_OPERATIONS = ("/health", "/api/v1/health")
MESSAGE_REF = {"$ref": "#/components/schemas/Message"}
BODY_ERRORS = {
    "413": "The body is over the server's limit (config api.max_body_bytes).",
    "415": "The body is not JSON (Content-Type application/json).",
}


def finish(doc: dict[str, Any], app_version: str) -> dict[str, Any]:
    """Security schemes, the body errors and the version header, added to FastAPI's document in place. `info`
    carries the API's version (`version`) and the app's (`x-app-version`)."""
    doc.setdefault("info", {}).update({"version": API_VERSION, "x-app-version": app_version})
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("Message", Message.model_json_schema())
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"}}
    components.setdefault("headers", {})[VERSION_HEADER] = {
        "description": f"The API version ({API_VERSION}); GET /api/v1/version has it too.", "required": True,
        "schema": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+$"}}
    doc["security"] = [{"ApiKey": []}, {"Bearer": []}]
    for path, ops in doc.get("paths", {}).items():
        for op in ops.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if path in PUBLIC_OPERATIONS:
                op["security"] = []
            if "requestBody" in op:
                for code, text in BODY_ERRORS.items():
                    op["responses"].setdefault(code, {
                        "description": text, "content": {"application/json": {"schema": MESSAGE_REF}}})
            for resp in op["responses"].values():
                resp.setdefault("headers", {})[VERSION_HEADER] = {"$ref": f"#/components/headers/{VERSION_HEADER}"}
    return doc
