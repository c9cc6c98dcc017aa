"""Saving and loading results and checkpoints: exact floats in a NumPy ``.npz`` file plus JSON metadata.

A saved :class:`~mcgrad.results.Estimate` keeps its accumulator state (the partial power sums), so a
loaded result merges with the results of adjacent block ranges exactly as the original would.  A
checkpoint holds the raw accumulator of a run in progress with a fingerprint of its settings; writes
go to a temporary file that replaces the old one, so a run killed at any moment leaves the last
complete checkpoint behind.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from .accumulator import Accumulator

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .results import Estimate

FORMAT = "mcgrad.state/1"


def _write(path, arrays: Mapping[str, np.ndarray], meta: dict) -> None:
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}-{threading.get_ident()}"  # unique per process and thread: no torn saves
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps({"format": FORMAT, **meta})), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):  # an error or interrupt before the replace: the old file stays as it was
            os.remove(tmp)


def _read(path, kind: str) -> tuple[dict, dict]:
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: {exc}") from None
    try:
        meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: {exc}") from None
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file (format {meta.get('format')!r}, "
                         f"kind {meta.get('kind')!r}; expected {FORMAT!r}, {kind!r})")
    return arrays, meta


def _accumulator_arrays(acc: Accumulator, prefix: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}starts": acc.starts[:acc.count].copy(),
        f"{prefix}levels": acc.levels[:acc.count].copy(),
        f"{prefix}values": acc.values[:acc.count].copy(),
        f"{prefix}range": np.array([acc.first_block, acc.end_block, acc.width], np.int64),
    }


def _accumulator(arrays: dict, prefix: str) -> Accumulator:
    first, end, width = (int(v) for v in arrays[f"{prefix}range"])
    acc = Accumulator(width, first)
    count = arrays[f"{prefix}starts"].shape[0]
    acc.starts[:count] = arrays[f"{prefix}starts"]
    acc.levels[:count] = arrays[f"{prefix}levels"]
    acc.values[:count] = arrays[f"{prefix}values"]
    acc.count = count
    acc.end_block = end
    return acc


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return getattr(value, "name", repr(value))  # objectives given as options (relax's control)


def save_estimate(result: Estimate, path) -> None:
    """Write ``result`` (accumulators and metadata, floats bit for bit) to ``path`` (a ``.npz`` file)."""
    arrays = _accumulator_arrays(result.accumulator, "acc_")
    if result.reference is not None:
        arrays.update(_accumulator_arrays(result.reference, "ref_"))
    meta = {
        "kind": "estimate",
        "estimator": result.estimator, "family": result.family, "objective": result.objective,
        "components": list(result.components),
        "parameters": {k: v.tolist() for k, v in result.parameters.items()},
        "seed": result.seed, "block_size": result.block_size, "seconds": result.seconds,
        "biased": result.biased, "nonfinite": result.nonfinite,
        "exact": None if result.exact is None else result.exact.tolist(),
        "options": {k: _jsonable(v) for k, v in result.options.items()},
        "n_total": result.n_total,
        "diagnostics": {k: _jsonable(v) for k, v in result.diagnostics.items()},
        "fitted": {k: _jsonable(v) for k, v in result.fitted.items()},
        "objective_identity": result.objective_identity,
    }
    _write(path, arrays, meta)


def read_estimate(path) -> dict:
    """The fields of a result written by :meth:`Estimate.save` (``Estimate(**fields)`` rebuilds it)."""
    arrays, meta = _read(path, "estimate")
    return dict(
        estimator=meta["estimator"], family=meta["family"], objective=meta["objective"],
        components=meta["components"],
        parameters={k: np.asarray(v, dtype=np.float64) for k, v in meta["parameters"].items()},
        seed=meta["seed"], block_size=meta["block_size"], accumulator=_accumulator(arrays, "acc_"),
        seconds=meta["seconds"], biased=meta["biased"], nonfinite=meta["nonfinite"],
        exact=None if meta["exact"] is None else np.asarray(meta["exact"], dtype=np.float64),
        options=meta["options"], n_total=meta["n_total"], diagnostics=meta["diagnostics"],
        reference=_accumulator(arrays, "ref_") if "ref_range" in arrays else None,
        fitted={k: np.asarray(v, dtype=np.float64) for k, v in meta["fitted"].items()},
        objective_identity=meta.get("objective_identity"),
    )


def save_checkpoint(path, acc: Accumulator, totals: np.ndarray, seconds: float, fingerprint: dict) -> None:
    """Write a run's progress: its accumulator so far, counters, seconds and settings fingerprint."""
    arrays = _accumulator_arrays(acc, "acc_")
    arrays["totals"] = np.asarray(totals, np.int64)
    _write(path, arrays, {"kind": "checkpoint", "seconds": seconds, "fingerprint": fingerprint})


def load_checkpoint(path, fingerprint: dict) -> tuple[Accumulator, np.ndarray, float]:
    """Read a checkpoint and refuse it, naming what differs, unless it was made with these settings."""
    arrays, meta = _read(path, "checkpoint")
    saved = meta["fingerprint"]
    differ = sorted(k for k in fingerprint.keys() | saved.keys() if saved.get(k) != fingerprint.get(k))
    if differ:
        shown = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {fingerprint.get(k)!r}" for k in differ)
        raise ValueError(f"checkpoint {os.fspath(path)!r} was made with other settings ({shown}); use another "
                         f"file or the same settings")
    return _accumulator(arrays, "acc_"), arrays["totals"], float(meta["seconds"])
