"""Shared fixtures of the knowledge-base tests: the project's own chunks and an index built from them once."""

from __future__ import annotations

from pathlib import Path

import pytest

QUESTIONS = Path(__file__).resolve().parents[4] / "tests" / "data" / "kb" / "questions.jsonl"


@pytest.fixture(scope="session")
def project_chunks():
    from quantdesk.api.app import openapi_schema
    from quantdesk.intel.kb.sources import project_chunks as collect

    return collect(api_schema=openapi_schema)


@pytest.fixture(scope="session")
def project_index(project_chunks):
    from quantdesk.intel.kb.index import Index

    return Index.build(project_chunks, ["project"] * len(project_chunks))
