"""One executor interface for every sweep: in-process, a local process pool, or a Ray cluster.

    ex = make_executor(jobs=4)                       # process pool of 4 (jobs=1 -> in-process)
    ex = make_executor(ray_address="auto")           # an existing Ray cluster (or "local": start one here)
    with ex.session(fn, context) as s:               # context is shipped to the workers ONCE
        for index, result in s.map(tasks):           # results as they finish (any order)
            ...

`fn(context, task)` must be a module-level (picklable) function; it is called once per task. The executor never
changes a result: every task is a pure function of (context, task), so the same tasks give the same results
whichever executor ran them (the optimiser sorts by trial id before ranking).

- `InProcessExecutor`: runs tasks one after the other in this process (numba kernels still use all cores).
- `ProcessPoolExecutor(jobs)`: `jobs` worker processes (spawn start method, safe with numba's thread pool);
  each worker gets the context once through its initializer and limits numba to cores/jobs threads.
- `RayExecutor(address)`: `ray.init(address=...)` unless Ray is already initialised in this process; the context
  is `ray.put` once and tasks are `@ray.remote` calls (`num_cpus=1`). An address of "local" starts a private
  local instance (shut down on `close()`); "auto" joins the running cluster (`ray start --head`). Workers must
  be able to import quantdesk (same environment on every node).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from quantdesk.core.errors import ConfigError, ParameterError

TaskFn = Callable[[Any, Any], Any]


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class Session(AbstractContextManager):
    """A function + context bound to an executor's workers; `map(tasks)` yields (index, result) as they finish."""

    def map(self, tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Executor:
    """Base class: `session(fn, context)`; `name` and `workers` describe it; `close()` frees its resources."""

    name = "executor"
    workers = 1

    def session(self, fn: TaskFn, context: Any) -> Session:  # pragma: no cover - abstract
        raise NotImplementedError

    def map(self, fn: TaskFn, context: Any, tasks: Sequence[Any]) -> list[Any]:
        """All results in task order (convenience for small jobs)."""
        out: list[Any] = [None] * len(tasks)
        with self.session(fn, context) as s:
            for i, r in s.map(tasks):
                out[i] = r
        return out

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---- in-process ---------------------------------------------------------------------------------------------
class _InProcessSession(Session):
    def __init__(self, fn: TaskFn, context: Any) -> None:
        self.fn, self.context = fn, context

    def map(self, tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, task in enumerate(tasks):
            yield i, self.fn(self.context, task)


class InProcessExecutor(Executor):
    name = "in-process"
    workers = 1

    def session(self, fn: TaskFn, context: Any) -> Session:
        return _InProcessSession(fn, context)


# ---- local process pool -------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _pool_init(fn: TaskFn, context: Any, numba_threads: int) -> None:
    _WORKER["fn"], _WORKER["context"] = fn, context
    try:
        import numba

        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]  # set at import from the environment; numba's stubs omit it
    except Exception:  # noqa: BLE001 - numba missing or already configured: fine
        pass


def _pool_call(task: Any) -> Any:
    return _WORKER["fn"](_WORKER["context"], task)


class _PoolSession(Session):
    def __init__(self, jobs: int, fn: TaskFn, context: Any) -> None:
        threads = max(1, cpu_count() // jobs)
        self.pool = cf.ProcessPoolExecutor(
            max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_pool_init,
            initargs=(fn, context, threads),
        )

    def map(self, tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        futures = {self.pool.submit(_pool_call, t): i for i, t in enumerate(tasks)}
        try:
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class ProcessPoolExecutor(Executor):
    name = "process-pool"

    def __init__(self, jobs: int | None = None) -> None:
        jobs = cpu_count() if jobs is None else int(jobs)
        if jobs < 1:
            raise ParameterError(f"--jobs must be >= 1, got {jobs}")
        self.workers = jobs

    def session(self, fn: TaskFn, context: Any) -> Session:
        return _PoolSession(self.workers, fn, context)


# ---- Ray --------------------------------------------------------------------------------------------------
def _ray_call(fn: TaskFn, context: Any, task: Any) -> Any:
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001
        pass
    return fn(context, task)


class _RaySession(Session):
    def __init__(self, ray: Any, fn: TaskFn, context: Any) -> None:
        self.ray = ray
        self.fn = fn
        self.ctx_ref = ray.put(context)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)

    def map(self, tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        ray = self.ray
        refs = {self.remote.remote(self.fn, self.ctx_ref, t): i for i, t in enumerate(tasks)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield refs[ref], ray.get(ref)
        finally:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort on interruption
                    pass


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str = "auto") -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--ray-address needs Ray: pip install 'ray>=2.9' (or quantdesk[ray])") from None
        self.ray = ray
        self.address = address
        self._owned = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "ignore_reinit_error": True}
            try:
                if address in ("local", "", None):
                    ray.init(**kwargs)
                else:
                    ray.init(address=address, **kwargs)
            except Exception as exc:  # noqa: BLE001 - connection problems are the user's to fix
                raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from None
            self._owned = True
        try:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        except Exception:  # noqa: BLE001
            self.workers = 1

    def session(self, fn: TaskFn, context: Any) -> Session:
        return _RaySession(self.ray, fn, context)

    def close(self) -> None:
        if self._owned and self.ray.is_initialized():
            self.ray.shutdown()
            self._owned = False

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers, "address": self.address}


def make_executor(jobs: int | None = None, ray_address: str | None = None) -> Executor:
    """`ray_address` -> RayExecutor; else `jobs` (default: all cores) -> process pool, or in-process for 1."""
    if ray_address:
        return RayExecutor(ray_address)
    n = cpu_count() if jobs is None else int(jobs)
    if n < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    if n == 1:
        return InProcessExecutor()
    return ProcessPoolExecutor(n)
