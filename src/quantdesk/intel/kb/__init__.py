"""Knowledge-base assistant: answers from QuantDesk's docs and the user's own research, with citations, offline.

Ingest (`sources`, `results`, `activity`) -> chunks with stable ids (`chunks`) -> an embedded index of BM25 and
locally trained vectors (`index`, `embed`, `store`; PostgreSQL full-text in `pg`) -> hybrid search fused by
reciprocal rank -> extractive answers that quote verbatim or abstain (`answer`), optionally an LLM answer
checked sentence by sentence (`llm`); market briefs (`brief`) and "why?" explanations (`explain`).
The use cases are in `service.KnowledgeBase`; the CLI, the API and the MCP server call them.
This package places no order and imports nothing from the CLI, the API or the engine's internals.
"""
