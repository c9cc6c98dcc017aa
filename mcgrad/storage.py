"""Saving and loading results and checkpoints: exact floats in a NumPy ``.npz`` file plus JSON metadata.

A saved :class:`~mcgrad.results.Estimate` keeps its accumulator state (the partial power sums), so a
loaded result merges with the results of adjacent block ranges exactly as the original would.  A
checkpoint holds the raw accumulator of a run in progress with a fingerprint of its settings; writes
go to a temporary file that replaces the old one, so a run killed at any moment leaves the last
complete checkpoint behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from .accumulator import Accumulator
from .kernels import moments

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


def _read(path, kinds: str | tuple[str, ...]) -> tuple[dict, dict]:
    """Arrays and metadata of an mcgrad file of one of ``kinds`` (others are refused, naming what was found)."""
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    kind = " or ".join(kinds)
    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: {exc}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: a single array, not an .npz archive")
    try:
        with data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: {exc}") from None
    try:
        meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path!r} is not an mcgrad {kind} file: its metadata is not an object")
    if meta.get("format") != FORMAT or meta.get("kind") not in kinds:
        raise ValueError(f"{path!r} is not an mcgrad {kind} file (format {meta.get('format')!r}, "
                         f"kind {meta.get('kind')!r}; expected {FORMAT!r}, {kind!r})")
    return arrays, meta


@contextlib.contextmanager
def _damaged(path, what: str):
    """Turn what a damaged file makes the reading code raise into one ValueError naming the file."""
    try:
        yield
    except KeyError as exc:
        raise ValueError(f"{os.fspath(path)!r} is a damaged mcgrad {what} file: {exc} is missing") from None
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is a damaged mcgrad {what} file: {exc}") from None


def _accumulator_arrays(acc: Accumulator, prefix: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}starts": acc.starts[:acc.count].copy(),
        f"{prefix}levels": acc.levels[:acc.count].copy(),
        f"{prefix}values": acc.values[:acc.count].copy(),
        f"{prefix}range": np.array([acc.first_block, acc.end_block, acc.width], np.int64),
    }


def _accumulator(arrays: dict, prefix: str) -> Accumulator:
    """The accumulator stored under ``prefix``, refused (ValueError) unless its arrays are complete and its nodes
    tile its block range: each node ``[start, start + 2**level)`` follows the last, with n >= 0 samples."""
    missing = [f"{prefix}{k}" for k in ("range", "starts", "levels", "values") if f"{prefix}{k}" not in arrays]
    if missing:
        raise ValueError(f"arrays {missing} are missing")
    block_range, starts, levels, values = (arrays[f"{prefix}{k}"] for k in ("range", "starts", "levels", "values"))
    if block_range.shape != (3,) or block_range.dtype.kind not in "iu":
        raise ValueError(f"{prefix}range must be 3 integers (first block, end block, width)")
    first, end, width = (int(v) for v in block_range)
    count = starts.shape[0] if starts.ndim == 1 else -1
    if not (0 <= first <= end and width >= 1 and 0 <= count <= moments.NODE_CAPACITY
            and starts.dtype.kind in "iu" and levels.dtype.kind in "iu" and levels.shape == (count,)
            and values.dtype == np.float64 and values.shape == (count, width, moments.ROW)):
        raise ValueError(f"the {prefix} arrays do not fit together (range {block_range.tolist()}, starts "
                         f"{starts.shape}, levels {levels.shape}, values {values.shape})")
    at = first
    for start, level in zip(starts.tolist(), levels.tolist(), strict=True):
        if start != at or not 0 <= level < 63:
            raise ValueError(f"the {prefix} nodes do not tile blocks [{first}, {end})")
        at += 1 << level
    if at != end or np.any(values[:, :, 0] < 0) or not np.all(np.isfinite(values[:, :, 0])):
        raise ValueError(f"the {prefix} nodes do not tile blocks [{first}, {end}) with n >= 0 samples")
    acc = Accumulator(width, first)
    acc.reserve(end)
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
    arrays, meta = _estimate_parts(result, "")
    _write(path, arrays, {"kind": "estimate", **meta})


def _estimate_parts(result: Estimate, prefix: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (names prefixed) and metadata that store ``result``."""
    arrays = _accumulator_arrays(result.accumulator, prefix + "acc_")
    if result.reference is not None:
        arrays.update(_accumulator_arrays(result.reference, prefix + "ref_"))
    meta = {
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
    return arrays, meta


PARTIAL = "partial_"  # prefix of the partial result's arrays in a checkpoint


def read_estimate(path) -> dict:
    """The fields of a result written by :meth:`Estimate.save`, or of the finished blocks of a checkpoint
    (``Estimate(**fields)`` rebuilds it)."""
    arrays, meta = _read(path, ("estimate", "checkpoint"))
    if meta["kind"] == "checkpoint":
        if not isinstance(meta.get("partial"), dict):
            raise ValueError(f"checkpoint {os.fspath(path)!r} holds no partial result (written before checkpoints "
                             "kept one, or before any block finished); resume the run to get its result")
        arrays = {k[len(PARTIAL):]: v for k, v in arrays.items() if k.startswith(PARTIAL)}
        meta = meta["partial"]
    with _damaged(path, "result"):
        fields = _estimate_fields(arrays, meta)
        w, stored = len(fields["components"]), fields["accumulator"].width
        if stored not in (w, w * w):
            raise ValueError(f"{w} component names for {stored} stored components (expected {w}, or {w * w} with "
                             "the covariance's pair rows)")
    return fields


def _estimate_fields(arrays: dict, meta: dict) -> dict:
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


def save_checkpoint(path, acc: Accumulator, totals: np.ndarray, seconds: float, fingerprint: dict,
                    partial: Estimate | None = None) -> None:
    """Write a run's progress: its accumulator so far, counters, seconds and settings fingerprint, and the
    result of the finished blocks (``partial``), which :func:`mcgrad.load` reads from the checkpoint."""
    arrays = _accumulator_arrays(acc, "acc_")
    arrays["totals"] = np.asarray(totals, np.int64)
    meta = {"kind": "checkpoint", "seconds": seconds, "fingerprint": fingerprint}
    if partial is not None:
        parts, meta["partial"] = _estimate_parts(partial, PARTIAL)
        arrays.update(parts)
    _write(path, arrays, meta)


def _readable(value):
    """A fingerprint value with its exact hex floats as decimal floats (for messages)."""
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, str) and value.lstrip("-").startswith("0x"):
        try:
            return float.fromhex(value)
        except ValueError:
            return value
    return value


def load_checkpoint(path, fingerprint: dict) -> tuple[Accumulator, np.ndarray, float]:
    """Read a checkpoint and refuse it, naming what differs, unless it was made with these settings."""
    arrays, meta = _read(path, "checkpoint")
    saved = meta.get("fingerprint")
    if not isinstance(saved, dict):
        raise ValueError(f"{os.fspath(path)!r} is a damaged mcgrad checkpoint: it has no settings fingerprint")
    differ = sorted(k for k in fingerprint.keys() | saved.keys() if saved.get(k) != fingerprint.get(k))
    if differ:
        shown = "; ".join(f"{k}: checkpoint {_readable(saved.get(k))!r}, now {_readable(fingerprint.get(k))!r}"
                          for k in differ)
        raise ValueError(f"checkpoint {os.fspath(path)!r} was made with other settings ({shown}); use another "
                         f"file or the same settings")
    with _damaged(path, "checkpoint"):
        totals = np.asarray(arrays["totals"])
        if totals.ndim != 1 or totals.dtype.kind not in "iu" or np.any(totals < 0):
            raise ValueError("totals must be non-negative integer counters")
        return _accumulator(arrays, "acc_"), totals, float(meta["seconds"])
