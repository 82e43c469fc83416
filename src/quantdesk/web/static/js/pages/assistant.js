// Assistant: ask the knowledge base (QuantDesk's docs, the knowledge pages, your files and recorded runs) and get
// quoted answers whose [n] citations open the cited passage, with the quote highlighted. Also: search, a market
// brief with its data citations, and a re-index button (read-write keys).
import { h, clear, card, badge, empty, busy, toast } from "../ui.js";
import { ts } from "../format.js";

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function mount(view, ctx) {
  const question = h("input", { id: "kb-question", type: "search", placeholder: "e.g. Why did my bot lose money in March?",
    "aria-label": "Question", style: { flex: "1", minWidth: "18em" }, maxlength: "2000" });
  const useLlm = h("input", { type: "checkbox", id: "kb-llm" });
  const llmLabel = h("label", { class: "inline-label", for: "kb-llm", hidden: true }, useLlm, " use the LLM");
  const askBtn = h("button", { class: "btn btn-primary", type: "submit", id: "kb-ask" }, "Ask");
  const searchBtn = h("button", { class: "btn", type: "button", id: "kb-search" }, "Search");
  const answerBox = h("div", { id: "kb-answer", "aria-live": "polite" });
  const passage = h("div", { id: "kb-passage" }, empty("Click a citation [n] to read the passage it quotes."));
  const statusLine = h("p", { class: "muted", id: "kb-status" }, "…");
  const reindex = h("button", { class: "btn btn-sm", type: "button", id: "kb-reindex" }, "Re-index");
  const briefBox = h("div", { id: "kb-brief" });
  const briefBtn = h("button", { class: "btn btn-sm", type: "button", id: "kb-brief-btn" }, "Write a market brief");
  const form = h("form", { class: "toolbar", id: "kb-form", "aria-label": "Ask the knowledge base" },
    question, llmLabel, askBtn, searchBtn);

  view.append(
    h("div", { class: "grid grid-side" },
      card("Ask", [form, statusLine, answerBox], { id: "kb-ask-card", actions: reindex }),
      card("Cited passage", passage, { id: "kb-passage-card" })),
    card("Market brief", [briefBtn, briefBox], { id: "kb-brief-card" }));

  function citeButton(n, onClick) {
    return h("button", { class: "btn btn-ghost btn-sm kb-cite", type: "button", dataset: { n: String(n) },
      "aria-label": `Open citation ${n}`, onclick: onClick }, `[${n}]`);
  }

  // the answer text with each "[n]" turned into a button that opens citation n
  function answerNodes(text, open) {
    const parts = [];
    const re = /\[(\d+)\]/g;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      parts.push(text.slice(last, m.index), citeButton(Number(m[1]), () => open(Number(m[1]))));
      last = m.index + m[0].length;
    }
    parts.push(text.slice(last));
    return parts;
  }

  async function showPassage(chunkId, quote) {
    const c = await ctx.api.get(`/kb/chunks/${chunkId}`);
    const text = c.text || "";
    const at = quote ? text.indexOf(quote) : -1;
    const body = at < 0 ? [text] : [text.slice(0, at), h("mark", { id: "kb-quote" }, quote), text.slice(at + quote.length)];
    const where = `${c.source}#${c.anchor}`;
    clear(passage,
      h("p", { style: { overflowWrap: "anywhere" } }, h("strong", { id: "kb-passage-source" }, where), " ", badge(c.kind)),
      c.title ? h("p", { class: "muted" }, c.title) : null,
      RUN_ID.test(c.source) ? h("p", {}, h("a", { href: "#/backtests" }, "Open the Backtests page")) : null,
      h("pre", { style: { whiteSpace: "pre-wrap" }, id: "kb-passage-text" }, ...body));
    document.getElementById("kb-quote")?.scrollIntoView({ block: "nearest" });
  }

  function renderAnswer(a) {
    const byN = new Map(a.citations.map((c) => [c.n, c]));
    const open = (n) => { const c = byN.get(n); if (c) showPassage(c.chunk_id, c.quote); };
    clear(answerBox,
      h("p", { id: "kb-answer-text" }, ...answerNodes(a.answer, open)),
      a.citations.length ? h("ol", { class: "feed", id: "kb-citations" }, [...byN.values()].map((c) => h("li", {},
        citeButton(c.n, () => open(c.n)), h("span", { style: { overflowWrap: "anywhere" } }, `${c.source}#${c.anchor}`),
        h("span", { class: "muted" }, c.quote.length > 90 ? `${c.quote.slice(0, 90)}…` : c.quote)))) : null,
      a.abstained && a.related?.length ? h("p", { class: "muted" }, "Closest passages: ",
        a.related.map((r, i) => [i ? ", " : "", h("a", { href: "#", onclick: (e) => { e.preventDefault(); showPassage(r.chunk_id, null); } },
          `${r.source}#${r.anchor}`)])) : null,
      h("p", { class: "muted" }, `${a.mode} answer, evidence ${a.confidence.toFixed(2)}`,
        a.notes?.length ? ` — ${a.notes[0]}` : ""));
    ctx.qd.data = { ...(ctx.qd.data || {}), kbAnswer: a };
  }

  function renderHits(hits) {
    clear(answerBox, hits.length ? h("ol", { class: "feed", id: "kb-hits" }, hits.map((hit) => h("li", {},
      h("a", { href: "#", onclick: (e) => { e.preventDefault(); showPassage(hit.chunk_id, null); } }, `${hit.source}#${hit.anchor}`),
      h("span", { class: "muted" }, hit.text.length > 160 ? `${hit.text.slice(0, 160)}…` : hit.text),
      badge(hit.kind)))) : empty("No passage matches."));
  }

  async function ask() {
    const q = question.value.trim();
    if (!q) { toast("Type a question first", "error"); return; }
    const body = { question: q };
    if (!llmLabel.hidden) body.llm = useLlm.checked;
    renderAnswer(await ctx.api.post("/kb/ask", body));
  }

  async function search() {
    const q = question.value.trim();
    if (!q) { toast("Type some words first", "error"); return; }
    renderHits(await ctx.api.get("/kb/search", { q, k: 8 }));
  }

  async function refreshStatus() {
    const s = await ctx.api.get("/kb/status", null, { quiet: true }).catch(() => null);
    if (!s) return;
    llmLabel.hidden = !s.llm;
    statusLine.textContent = s.ingested
      ? `${s.chunks} passages indexed (${Object.entries(s.kinds).map(([k, n]) => `${n} ${k}`).join(", ")}), updated ${ts(s.updated_at)}; lexical search: ${s.lexical}.`
      : "Nothing indexed yet: press Re-index (or run `quantdesk kb ingest`).";
  }

  async function runIngest() {
    const job = await ctx.api.post("/kb/ingest", {});
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const j = await ctx.api.get(`/kb/ingest/${job.id}`);
      statusLine.textContent = j.steps.length ? `Indexing: ${j.steps[j.steps.length - 1]}…` : "Indexing…";
      if (j.status === "completed") { toast(`Indexed: ${j.result.added} added, ${j.result.removed} removed`, "ok"); break; }
      if (j.status === "failed") { toast(`Indexing failed: ${j.error}`, "error"); break; }
    }
    await refreshStatus();
  }

  async function brief() {
    const b = await ctx.api.get("/kb/brief");
    const byN = new Map(b.citations.map((c) => [c.n, c]));
    const cites = h("ol", { class: "feed", id: "kb-brief-citations" });
    clear(briefBox, h("ul", { id: "kb-brief-statements" }, b.statements.map((s) => h("li", {}, s.text, " ",
      s.citations.map((n) => h("a", { href: `#kb-brief-cite-${n}` }, `[${n}]`))))), cites);
    for (const c of byN.values()) {
      cites.append(h("li", { id: `kb-brief-cite-${c.n}` }, `[${c.n}] ${c.source}#${c.anchor}`,
        c.detail ? h("span", { class: "muted" }, ` ${c.detail}`) : null));
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); busy(askBtn, ask); });
  searchBtn.addEventListener("click", () => busy(searchBtn, search));
  briefBtn.addEventListener("click", () => busy(briefBtn, brief));
  reindex.addEventListener("click", () => busy(reindex, runIngest));
  reindex.hidden = ctx.readOnly;
  await refreshStatus();
  return { poll: 0, refresh: refreshStatus };
}
