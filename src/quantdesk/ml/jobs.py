"""Background training jobs for the API: bounded (at most `max_running` at once), with progress.

    jobs = TrainJobs(max_running=2, url=settings.database_url)
    job_id = jobs.submit(request)        # ConflictError (HTTP 409) when `max_running` jobs are already running
    jobs.get(job_id)                     # {"id", "status": running|completed|failed, "progress": 0..1, "stage", ...}

Each job runs `quantdesk.ml.service.train_model` in its own thread (folds in-process, so a job uses one core);
finished jobs keep their summary (the model id and the out-of-sample scores) in memory, the model itself is in the
registry like any other.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from quantdesk.core.errors import ConflictError, NotFoundError
from quantdesk.core.logging import get_logger

log = get_logger(__name__)


class TrainJobs:
    def __init__(self, max_running: int = 2, url: str | None = None, keep: int = 100) -> None:
        self.max_running, self.url, self.keep = max_running, url, keep
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def running(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j["status"] == "running")

    def submit(self, req: Any) -> str:
        from quantdesk.ml.service import spec_from_request

        spec_from_request(req)  # a bad request is a 400 now, not a failed job later
        with self._lock:
            if sum(1 for j in self._jobs.values() if j["status"] == "running") >= self.max_running:
                raise ConflictError(f"{self.max_running} training jobs are already running: wait for one to finish")
            job_id = uuid.uuid4().hex
            self._jobs[job_id] = {"id": job_id, "status": "running", "progress": 0.0, "stage": "queued",
                                  "started": time.time(), "request": req.model_dump(mode="json")}
            self._trim()
        threading.Thread(target=self._run, args=(job_id, req), daemon=True, name="qd-ml-train").start()
        return job_id

    def _trim(self) -> None:
        done = [k for k, j in self._jobs.items() if j["status"] != "running"]
        for k in done[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[k]

    def _run(self, job_id: str, req: Any) -> None:
        from quantdesk.ml.service import train_model

        job = self._jobs[job_id]

        def progress(done: int, total: int, stage: str) -> None:
            job["stage"] = stage
            job["progress"] = round(min(0.99, done / max(total, 1)), 4)

        try:
            doc = train_model(req, progress=progress, url=self.url)
            job.update(status="completed", progress=1.0, stage="done", model_id=doc["model_id"], result=doc,
                       seconds=round(time.time() - job["started"], 3))
        except Exception as exc:  # noqa: BLE001 - reported in the job, never a dead thread
            log.warning("training job %s failed: %s", job_id, exc)
            job.update(status="failed", stage="failed", error=f"{type(exc).__name__}: {exc}")

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"no training job {job_id!r}")
            return dict(job)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in j.items() if k not in ("result", "request")} for j in self._jobs.values()]
