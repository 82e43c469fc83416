"""Background backtests of the API with bounded resources: POST /backtests, GET /backtests[/{id}].

- At most `workers` backtests run at once on a fixed thread pool (no thread per job), at most `queue` wait;
  past that a submission is refused (`TooBusy`: 429 with Retry-After) instead of piling up work.
- A finished job is persisted, then released from memory: the run (config, metrics) in the database
  (`storage.db.record_run`), its trades and equity curve in `QD_HOME/backtests/<id>/result.json.gz`. Memory
  keeps only the small status of the last `keep` jobs (id, status, progress, config, error), so the process
  stays flat however many backtests it has served.
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from quantdesk.core.errors import NotFoundError, QuantDeskError
from quantdesk.core.logging import get_logger

log = get_logger(__name__)
RESULT_FILE = "result.json.gz"


class TooBusy(QuantDeskError):
    """Every worker is busy and the queue is full: retry later (HTTP 429)."""

    retry_after = 5


class BacktestJobs:
    def __init__(self, settings: Any, *, workers: int = 2, queue: int = 16, keep: int = 500) -> None:
        self.settings = settings
        self.workers = workers
        self.capacity = workers + queue
        self.keep = keep
        self.dir = Path(settings.home) / "backtests"
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._active = 0
        self._lock = threading.Lock()

    # ---- submit / run -----------------------------------------------------------------------------------
    def submit(self, config: dict[str, Any]) -> str:
        """Validate (a bad name or parameter is a 4xx now, not a failed job later), queue; returns the run id."""
        from quantdesk.backtest.config import BacktestConfig
        from quantdesk.strategies.loader import create_strategy

        cfg = BacktestConfig(**config)
        create_strategy(cfg.strategy, cfg.params)
        run_id = str(uuid.uuid4())
        with self._lock:
            if self._active >= self.capacity:
                raise TooBusy(f"{self._active} backtests are running or queued (at most {self.capacity}): "
                              "retry in a few seconds")
            self._active += 1
            # status "running" from the start (clients poll until it is not); `queued` says whether it waits
            self._jobs[run_id] = {"id": run_id, "status": "running", "queued": True, "progress": 0.0,
                                  "config": cfg.model_dump(mode="json")}
            self._trim()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qd-backtest")
            pool = self._pool
        pool.submit(self._run, run_id, cfg)
        return run_id

    def _trim(self) -> None:
        """Forget the oldest FINISHED jobs past `keep` (they are persisted). Call with the lock held."""
        excess = len(self._jobs) - self.keep
        for rid in [r for r, j in self._jobs.items() if j["status"] in ("completed", "failed")][:max(0, excess)]:
            del self._jobs[rid]

    def _run(self, run_id: str, cfg: Any) -> None:
        job = self._jobs[run_id]
        job["queued"] = False
        try:
            from quantdesk.backtest.runner import run_backtest
            from quantdesk.core.jsonable import to_jsonable as _jsonable
            from quantdesk.service.market_queries import _frame_records
            from quantdesk.storage import db
            from quantdesk.strategies.loader import create_strategy

            strategy = create_strategy(cfg.strategy, cfg.params)

            def progress(done: int, total: int) -> None:  # share of the bars the engine has stepped through
                job["progress"] = round(done / max(1, total), 4)

            res = run_backtest(cfg, strategy=strategy, progress=progress)
            metrics = _jsonable(res.metrics)
            result = {"metrics": metrics, "trades": _frame_records(res.trades),
                      "equity": [{"ts": _jsonable(ts), "equity": _jsonable(v)} for ts, v in res.equity.items()]}
            out_dir = self.dir / run_id
            self._write(out_dir, result)
            db.record_run(config=cfg.model_dump(mode="json"), metrics=res.metrics,
                          data_fingerprint=res.data_info.get("fingerprint"), out_dir=str(out_dir), engine="event",
                          url=self.settings.database_url, run_id=run_id)
            del res, result
            job.update(status="completed", progress=1.0, metrics=metrics)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported on the job, never kills the pool
            log.warning("backtest %s failed: %s", run_id, exc)
            job.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._active -= 1
                self._trim()

    @staticmethod
    def _write(out_dir: Path, result: dict[str, Any]) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / (RESULT_FILE + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(result, fh, separators=(",", ":"), allow_nan=False)
        tmp.replace(out_dir / RESULT_FILE)

    # ---- read ---------------------------------------------------------------------------------------------
    def get(self, run_id: str) -> dict[str, Any]:
        """A job: queued/running (progress), failed (error), or completed with metrics, trades and equity (read
        back from the database and the result file); a run recorded by the CLI has no trades/equity here."""
        with self._lock:
            job = self._jobs.get(run_id)
            job = dict(job) if job is not None else None
        if job is not None and job["status"] in ("running", "failed"):
            return job
        from quantdesk.core.jsonable import to_jsonable as _jsonable
        from quantdesk.storage import db

        try:
            row = db.get_run(run_id, self.settings.database_url)
        except NotFoundError:
            if job is not None:  # completed a moment ago, its row not visible yet
                return job
            raise
        doc = {"id": run_id, "status": row.get("status", "completed"), "progress": 1.0,
               "config": _jsonable(row.get("config")), "metrics": _jsonable(row.get("metrics")), "trades": None,
               "equity": None}
        path = self.dir / run_id / RESULT_FILE
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                stored = json.load(fh)
            doc.update(trades=stored["trades"], equity=stored["equity"])
        return doc

    def running(self) -> list[dict[str, Any]]:
        """The jobs not persisted yet (running - maybe still queued -, failed), newest first."""
        with self._lock:
            return [{"id": j["id"], "status": j["status"], "strategy": j["config"]["strategy"],
                     "symbol": j["config"]["symbol"], "timeframe": j["config"]["timeframe"],
                     **({"error": j["error"]} if "error" in j else {})}
                    for j in reversed(self._jobs.values()) if j["status"] != "completed"]

    def page(self, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """(the jobs in flight first, then the recorded runs newest first: `limit` from `offset`; how many)."""
        from quantdesk.core.jsonable import to_jsonable as _jsonable
        from quantdesk.storage import db

        live = self.running()
        url = self.settings.database_url
        total_runs = db.count_runs(url)
        rows: list[dict[str, Any]] = live[offset:offset + limit]
        want = limit - len(rows)
        if want > 0:
            start = max(0, offset - len(live))
            seen = {r["id"] for r in live}
            for r in db.list_runs(url, limit=want, offset=start):
                if str(r.get("id")) not in seen:
                    rows.append({"id": str(r.get("id")), "status": r.get("status"), "strategy": r.get("strategy"),
                                 "symbol": r.get("symbol"), "timeframe": r.get("timeframe"),
                                 "metrics": _jsonable(r.get("metrics"))})
        return rows, len(live) + total_runs

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
