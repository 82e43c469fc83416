"""The Assistant page in a real browser: ask, click a citation, read the cited passage with the quote highlighted;
abstention; search; the cited market brief."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def indexed(env):
    from quantdesk.intel.kb.service import knowledge_base

    return knowledge_base(env["settings"]).ingest()


def test_assistant_answers_with_clickable_citations(make_page, env, indexed, h) -> None:
    page = make_page()
    page.click("#nav-assistant")
    h.wait_js(page, "window.qd.page === 'assistant'")
    h.wait_js(page, "document.getElementById('kb-status').textContent.includes('passages indexed')")
    page.fill("#kb-question", "What does the Sortino ratio divide the mean return by?")
    page.click("#kb-ask")
    h.wait_js(page, "window.qd.data?.kbAnswer")
    answer = page.evaluate("window.qd.data.kbAnswer")
    assert answer["abstained"] is False and answer["citations"][0]["anchor"] == "sortino-ratio"
    assert page.locator("#kb-answer-text .kb-cite").count() == answer["answer"].count("[")
    page.locator("#kb-answer-text .kb-cite").first.click()
    h.wait_js(page, "document.getElementById('kb-quote')")
    assert page.text_content("#kb-quote") == answer["citations"][0]["quote"]
    source = answer["citations"][0]["source"]
    assert page.text_content("#kb-passage-source") == f"{source}#sortino-ratio"
    h.shot(page, "assistant")

    page.fill("#kb-question", "How do I knit a scarf for beginners?")
    page.click("#kb-ask")
    h.wait_js(page, "window.qd.data.kbAnswer.abstained === true")
    assert "I don't know" in page.text_content("#kb-answer-text")

    page.fill("#kb-question", "funding rate")
    page.click("#kb-search")
    h.wait_js(page, "document.querySelectorAll('#kb-hits li').length > 0")
    page.locator("#kb-hits a").first.click()
    h.wait_js(page, "document.getElementById('kb-passage-text')")

    page.click("#kb-brief-btn")
    h.wait_js(page, "document.querySelectorAll('#kb-brief-statements li').length > 0")
    assert page.locator("#kb-brief-citations li").count() >= 1
    assert page.text_content("#kb-brief-statements li").startswith("BTC/USDT last closed at")
