"""Dask execution: block ranges of a run spread over a ``dask.distributed.Client``'s workers.

Each worker runs ``estimate(..., blocks=(first, end))`` on its range with all of its Numba threads;
the pieces come back as :class:`~mcgrad.results.Estimate` objects (accumulator state included) and are
merged in block order, so the result is bitwise the local run's.  Variance-reduced estimators solve
their pilot pass on every worker (the same draws, so the same coefficients).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from .results import Estimate

PIECES_PER_WORKER = 2  # block ranges per worker: some slack for uneven workers, few enough to keep merges cheap


def split(blocks: tuple[int, int], pieces: int) -> list[tuple[int, int]]:
    """Cut ``[first, end)`` into at most ``pieces`` contiguous ranges of nearly equal length."""
    first, end = blocks
    pieces = max(1, min(pieces, end - first))
    bounds = [first + (end - first) * i // pieces for i in range(pieces + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(pieces)]


def _check_client(client) -> None:
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("client= needs dask.distributed: pip install 'mcgrad[dask]'") from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")


_LAUNCH = threading.Lock()  # serialises pieces in one worker process while the threading layer may be unsafe


def _piece(estimate, kwargs: dict) -> Estimate:
    """One block range on a worker, with the worker's share of Numba threads: a worker with T task threads
    runs up to T pieces at once, so each takes NUMBA_NUM_THREADS // T threads (and, under Numba's
    workqueue layer, which is not thread-safe, they take turns)."""
    import numba

    from . import engine

    try:
        from distributed import get_worker

        worker = get_worker()
        slots = int(getattr(worker, "nthreads", None) or getattr(worker.state, "nthreads", 1))
    except (ImportError, ValueError, AttributeError):
        slots = 1
    threads = max(1, numba.config.NUMBA_NUM_THREADS // max(1, slots))
    if slots > 1 and not engine._threadsafe_layer():
        with _LAUNCH:
            return estimate(**kwargs, threads=threads)
    return estimate(**kwargs, threads=threads)


def run(client, estimate, calls: Sequence[dict], blocks: Sequence[tuple[int, int]]) -> list[Estimate]:
    """Run every ``estimate(**call)`` over its block range on the cluster; one merged Estimate per call.

    ``estimate`` is :func:`mcgrad.estimate` (passed in, so this module sits below the API).

    All pieces of all calls are submitted at once, so the points of a sweep share the workers.
    """
    _check_client(client)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    submitted = []
    for call, span in zip(calls, blocks, strict=True):
        ranges = split(span, PIECES_PER_WORKER * workers)
        futures = [client.submit(_piece, estimate, {**call, "blocks": r, "progress": False}, pure=False)
                   for r in ranges]
        submitted.append(futures)
    results = []
    for futures in submitted:
        pieces = client.gather(futures)
        merged = pieces[0]
        for piece in pieces[1:]:
            merged = merged.merge(piece)
        results.append(merged)
    return results
