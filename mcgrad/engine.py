"""The engine: split n samples into fixed-size blocks, run a kernel over bounded chunks, merge in order.

Block ``b`` holds samples ``[b * block_size, min((b + 1) * block_size, n))`` and draws from its own
stream, so a result depends only on ``(seed, n, block_size)`` -- never on the thread count or on
how the blocks are grouped into calls.  Each kernel call fills one row of partial moments per
block for at most ``CHUNK_BLOCKS`` blocks; memory is O(CHUNK_BLOCKS x components), not O(n).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import time
from collections.abc import Callable

import numba
import numpy as np

from . import families
from ._validate import count
from .accumulator import Accumulator
from .function_address import FunctionAddress
from .kernels import discrete as discrete_kernels
from .kernels import driver, moments, score_vr
from .kernels import tape as ktape
from .kernels._jit import exact_signature
from .kernels.objectives import USER
from .kernels.rng import run_key

DEFAULT_BLOCK_SIZE = 1 << 16
CHUNK_BLOCKS = 256
COUNTERS = 3  # non-finite samples, sampler proposals, objective evaluations of a batch objective


@contextlib.contextmanager
def threads(n: int | None):
    """Run the body with ``n`` Numba threads (None: leave the current setting)."""
    if n is None:
        yield
        return
    n = count("threads", n)
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}, got {n}")
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


_launch_lock = threading.RLock()


@contextlib.contextmanager
def kernel_turn():
    """Around kernel launches: hold them to one Python thread at a time where the threading layer needs it
    (under Numba's workqueue layer, the fallback without OpenMP or TBB, parallel kernels launched from two
    threads at once abort the process), and let an exception that a user's function raised inside a kernel
    surface as itself (Numba reports it as a SystemError caused by it)."""
    try:
        if _threadsafe_layer():
            yield
        else:
            with _launch_lock:
                yield
    except SystemError as exc:
        if isinstance(exc.__cause__, Exception):
            raise exc.__cause__ from None
        raise


PROGRESS_DELAY = 2.0  # seconds before a progress bar appears: quick runs never show one


def progress_bar(blocks: tuple[int, int], block_size: int, n: int, progress: bool | None, file=None,
                 delay: float = PROGRESS_DELAY, description: str = ""):
    """A ``progress(k)`` callback for :func:`run_blocks` drawing a tqdm bar in samples, and the bar.

    ``progress=None`` shows the bar only when ``file`` (default stderr) is a terminal; ``False`` never;
    ``True`` always.  Either way the bar appears only once the run has lasted ``delay`` seconds.
    Returns ``(None, None)`` when no bar is wanted.
    """
    file = sys.stderr if file is None else file
    wanted = progress if progress is not None else bool(getattr(file, "isatty", lambda: False)())
    if not wanted:
        return None, None
    from tqdm import tqdm

    first, end = blocks
    total = min(end * block_size, n) - first * block_size
    bar = tqdm(total=total, unit="samples", unit_scale=True, delay=delay, file=file, desc=description,
               leave=False, dynamic_ncols=True)
    done = [first]

    def update(k: int) -> None:
        start = done[0]
        done[0] = start + k
        bar.update(min(done[0] * block_size, n) - start * block_size)

    return update, bar


_numba_threads = threads  # for functions whose own argument is called ``threads``


def block_count(n: int, block_size: int) -> int:
    """Number of blocks of an n-sample run."""
    return -(-n // block_size)


def check_blocks(blocks, n: int, block_size: int) -> tuple[int, int]:
    """Validate a ``(first, end)`` block range of an n-sample run (None: all blocks)."""
    total = block_count(n, block_size)
    if blocks is None:
        return 0, total
    try:
        first, end = (int(b) for b in blocks)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise TypeError(f"blocks must be a pair (first, end) of block indices, got {blocks!r}") from None
    if not 0 <= first < end <= total:
        raise ValueError(f"blocks must satisfy 0 <= first < end <= {total} for n={n}, got {blocks!r}")
    return first, end


class Stopped(Exception):
    """Ctrl-C arrived during :func:`run_blocks`; carries the blocks finished before it."""

    def __init__(self, acc: Accumulator, totals: np.ndarray, seconds: float):
        super().__init__("interrupted")
        self.acc, self.totals, self.seconds = acc, totals, seconds


@contextlib.contextmanager
def _deferred_interrupt():
    """Turn Ctrl-C into a flag checked between chunks (main thread only), so a chunk is never half-merged."""
    import signal
    import threading

    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        if previous is not None:  # None: a handler not installed from Python, which cannot be restored
            signal.signal(signal.SIGINT, previous)


def run_blocks(
    launch: Callable[[int, np.ndarray, np.ndarray], None],
    width: int,
    blocks: tuple[int, int],
    progress: Callable[[int], None] | None = None,
    *,
    resume: tuple[Accumulator, np.ndarray, float] | None = None,
    on_chunk: Callable[[Accumulator, np.ndarray, float], None] | None = None,
) -> tuple[Accumulator, np.ndarray, float]:
    """Run ``launch(first_block, rows, counters)`` chunk by chunk over ``blocks``.

    ``counters[c, j]`` are per-block integer diagnostics (row 0: samples with a non-finite
    component; row 1: sampler proposals, where the family has a rejection sampler).
    Returns the accumulator, the counters summed over blocks, and seconds.  ``resume`` continues
    ``(accumulator, counters, seconds)`` of the blocks before ``blocks``; ``on_chunk`` sees the state
    after every chunk.  Ctrl-C stops the run after the chunk in flight and raises :class:`Stopped`
    with everything finished so far.
    """
    first, end = blocks
    if resume is None:
        acc, totals, before = Accumulator(width, first), np.zeros(COUNTERS, np.int64), 0.0
    else:
        acc, totals, before = resume[0].copy(), np.zeros(COUNTERS, np.int64), resume[2]
        totals[:len(resume[1])] = resume[1]  # a checkpoint written before the third counter has two
    chunk = max(1, min(CHUNK_BLOCKS, end - first))  # a short run of many components holds only its own rows
    rows = np.empty((chunk, width, moments.ROW))
    counters = np.zeros((COUNTERS, chunk), np.int64)
    acc.copy().push_rows(rows[:0])  # loads the merge kernel (first use) before the clock starts
    t0 = time.perf_counter()
    with _deferred_interrupt() as flag:
        for start in range(first, end, CHUNK_BLOCKS):
            k = min(CHUNK_BLOCKS, end - start)
            counters[:] = 0
            chunk_counters = np.ascontiguousarray(counters[:, :k])
            with kernel_turn():
                launch(start, rows[:k], chunk_counters)
            acc.push_rows(rows[:k])
            totals += chunk_counters.sum(axis=1)
            if progress is not None:
                progress(k)
            if on_chunk is not None:
                on_chunk(acc, totals, before + time.perf_counter() - t0)
            if flag["stop"]:  # even after the last chunk: the caller asked to stop
                raise Stopped(acc, totals, before + time.perf_counter() - t0)
    return acc, totals, before + time.perf_counter() - t0


def _chunks(blocks: tuple[int, int], size: int):
    first, end = blocks
    for start in range(first, end, size):
        yield start, min(size, end - start)


def run_many(
    jobs: list[tuple[Callable[[int, np.ndarray, np.ndarray], None], int, tuple[int, int]]],
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[Accumulator, np.ndarray, float]]:
    """Run many ``(launch, width, blocks)`` jobs at once: every (job, chunk of blocks) is one work unit.

    Jobs with at least one block per thread run one after another, each chunk over all threads (as
    :func:`run_blocks`); the smaller ones go to ``threads`` Python workers (default: Numba's thread
    count) that each run units with one Numba thread, so small grid points run side by side.
    Each unit fills its own rows, and every job's rows are pushed in block order, so each result is
    bitwise the one :func:`run_blocks` gives for that job alone.  ``progress(k)`` gets finished blocks.
    Returns ``(accumulator, counters, seconds)`` per job, seconds being the time its units ran.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = numba.get_num_threads() if threads is None else count("threads", threads)
    accs = [Accumulator(width, blocks[0]) for _, width, blocks in jobs]
    totals = [np.zeros(COUNTERS, np.int64) for _ in jobs]
    seconds = [0.0] * len(jobs)
    for (_, width, _), acc in zip(jobs, accs, strict=True):
        acc.copy().push_rows(np.empty((0, width, moments.ROW)))  # loads the merge kernel before any clock starts

    def work(unit):
        i, start, k = unit
        launch, width, _ = jobs[i]
        rows = np.empty((k, width, moments.ROW))
        counters = np.zeros((COUNTERS, k), np.int64)
        t0 = time.perf_counter()
        with kernel_turn():
            launch(start, rows, counters)
        return rows, counters.sum(axis=1), time.perf_counter() - t0

    def single_threaded():
        numba.set_num_threads(1)

    def collect(batch, results):
        for (i, _, k), (rows, counted, spent) in zip(batch, results, strict=True):
            accs[i].push_rows(rows)
            totals[i] += counted
            seconds[i] += spent
            if progress is not None:
                progress(k)

    # Jobs with at least one block per worker run here, their chunks spread over all threads by prange
    # (measured faster than one-thread units side by side); the rest go to the single-threaded workers.
    # (units are made as they are run: a job of 1e15 samples has billions of chunks)
    big = [i for i, (_, _, blocks) in enumerate(jobs) if blocks[1] - blocks[0] >= workers]
    rest = [(i, start, k) for i, (_, _, blocks) in enumerate(jobs) if blocks[1] - blocks[0] < workers
            for start, k in _chunks(blocks, CHUNK_BLOCKS)]  # fewer blocks than workers: one chunk each
    with _numba_threads(None if threads is None else workers):
        for i in big:
            for start, k in _chunks(jobs[i][2], CHUNK_BLOCKS):
                collect([(i, start, k)], [work((i, start, k))])
        if rest:  # one unit here first: it also starts Numba's threading layer, which is checked next
            collect(rest[:1], [work(rest[0])])
            rest = rest[1:]
        if workers == 1 or not _threadsafe_layer():
            for unit in rest:
                collect([unit], [work(unit)])
            rest = []
    if rest:
        window = 4 * workers  # units in flight: bounds the rows held while earlier units finish
        with ThreadPoolExecutor(max_workers=workers, initializer=single_threaded) as pool:
            for lo in range(0, len(rest), window):
                batch = rest[lo:lo + window]
                collect(batch, pool.map(work, batch))
    return list(zip(accs, totals, seconds, strict=True))


def _threadsafe_layer() -> bool:
    """Whether parallel kernels may be launched from several threads at once (not so with workqueue)."""
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # no parallel kernel has run yet (e.g. only the exact estimator)
        return False


_compiled: dict = {}
_compiled_lock = threading.Lock()


COMPILE_NOTICE_AFTER = 2.0  # seconds of compiling before ``compile_notice`` is told
compile_notice: Callable[[str], None] | None = None  # set by the CLI: says on stderr that a kernel compiles


def compiled(key, make, signature, label: str | None = None):
    """``exact_signature(make(), signature)``, made once per process for ``key``.

    A compile (rather than a load from the on-disk cache) that lasts over :data:`COMPILE_NOTICE_AFTER`
    seconds calls :data:`compile_notice` with ``label`` (default: the key) while it compiles.
    """
    with _compiled_lock:
        if key not in _compiled:
            notice = compile_notice
            what = label or " ".join(str(k) for k in key)
            timer = threading.Timer(COMPILE_NOTICE_AFTER, notice, (what,)) if notice is not None else None
            if timer is not None:
                timer.daemon = True
                timer.start()
            try:
                _compiled[key] = exact_signature(make(), signature)
            finally:
                if timer is not None:
                    timer.cancel()
        return _compiled[key]


def block_function(spec, dist, objective):
    """The compiled block function of a sampling estimator for ``dist`` and ``objective`` (compiled, or loaded
    from the cache, on first use): a variant for user or built-in objectives, and for the family's D = 1 loops."""
    user_path = int(objective.code == USER)
    scalar = bool(families.module(dist.family).scalar(dist))
    label = (f"{spec.family} {spec.name} block function ({'user' if user_path else 'built-in'} objective, "
             f"{'D = 1' if scalar else 'any D'})")
    return compiled(("block", spec.family, spec.name, user_path, scalar),
                    lambda: spec.block(spec.code, user_path, scalar), driver.BLOCK_SIGNATURE, label)


@functools.cache
def no_setup() -> FunctionAddress:
    """The compiled setup of estimators that derive nothing from the parameters, by address (it allocates an empty
    table and cannot raise)."""
    return FunctionAddress(compiled(("setup",), lambda: driver.no_tables, driver.SETUP_SIGNATURE),
                           driver.SETUP_FUNCTION)


def setup_function(spec):
    """The compiled setup function of an estimator (:func:`no_setup` when it has none)."""
    if spec.setup is None:
        return no_setup()
    return compiled(("setup", spec.family, spec.name), spec.setup, driver.SETUP_SIGNATURE,
                    f"{spec.family} {spec.name} setup")


def load_function_arguments(run, args: tuple) -> None:
    """Compile (or load from the cache) the functions that ``run`` takes as first-class arguments now, which the
    first call would otherwise do inside a run's timing."""
    from numba.core import types
    from numba.core.dispatcher import Dispatcher

    for value, kind in zip(args, run.signatures[0], strict=False):
        if isinstance(kind, types.FunctionType) and isinstance(value, Dispatcher) and value._can_compile:
            value.compile(kind.signature)  # (the kernels, compiled for one signature, are frozen: left alone)


def objective_arguments(objective, control) -> tuple:
    """``(code, p, user, user1, cv, cv1)``: the objective and control variate as the block functions take them
    (without a control, the objective's functions fill its slots)."""
    user, user1 = objective.kernel_functions()
    cv, cv1 = control.kernel_functions() if control is not None else (user, user1)
    return objective.code, objective.param, user, user1, cv, cv1


def kernel_launcher(block, setup, params: np.ndarray, extra: np.ndarray, options: np.ndarray, code: int, objective,
                    control, key, block_size: int, n: int, *, inputs: int = 1, needs: tuple[bool, bool] = (True, True)):
    """A ``launch(first_block, rows, counters)`` running ``block`` over a chunk of blocks with the one driver.

    A batch objective runs on tapes (:func:`tape_launcher`); ``inputs`` is then the length of the points f
    takes and ``needs`` says whether the estimator uses f's values and its gradients.
    """
    params = np.ascontiguousarray(params, dtype=float)
    extra = np.ascontiguousarray(extra, dtype=float)
    options = np.ascontiguousarray(options, dtype=float)
    if objective.batch is not None:
        return tape_launcher(block, setup, params, extra, options, code, objective, control, key, block_size, n,
                             inputs, needs)
    run = compiled(("driver",), lambda: driver.run_blocks, driver.RUN_SIGNATURE, "block driver")
    args = (block, setup, params, extra, options, code, *objective_arguments(objective, control), np.uint64(key))
    load_function_arguments(run, args)

    def launch(first_block, rows, counters):
        run(*args, first_block, block_size, n, rows, counters)

    return launch


TAPE_BYTES = 64 << 20  # the tapes of the blocks recorded at once take at most this much (at least one block)
TAPE_BLOCK_LIMIT = 1 << 30  # one block's tape larger than this is refused: the block size must shrink


def new_tapes(blocks: int, capacity: int, inputs: int) -> np.ndarray:
    """Empty recording tapes (:mod:`mcgrad.kernels.tape`) for ``capacity`` points of length ``inputs`` each."""
    tapes = np.zeros((blocks, ktape.HEADER + capacity * (1 + inputs)))
    tapes[:, ktape.MODE] = ktape.RECORD
    tapes[:, ktape.CAPACITY] = capacity
    tapes[:, ktape.WIDTH] = inputs
    return tapes


def tape_bytes(capacity: int, inputs: int) -> int:
    """Bytes of one tape holding ``capacity`` points of length ``inputs``."""
    return 8 * (ktape.HEADER + capacity * (1 + inputs))


def _tape_group(bytes_per_block: int) -> int:
    """Blocks recorded at once: as many as :data:`TAPE_BYTES` holds, a multiple of the thread count when that
    fits (so the record and replay passes keep every thread busy), at least one."""
    fits = max(1, TAPE_BYTES // bytes_per_block)
    workers = numba.get_num_threads()
    return fits - fits % workers if fits >= workers else fits


def on_tapes(run: Callable[[np.ndarray, bool], None], objective, blocks: int, capacity: int, inputs: int,
             needs: tuple[bool, bool], threads: int, check: Callable[[int], None] | None = None) -> int:
    """Record, evaluate, replay: ``run(tapes, replaying)`` runs the kernel once on new recording tapes (recorded
    again on larger ones while a tape asks for more points than it holds), the batch objective answers every
    recorded point, and ``run`` runs again on the rewound tapes.  ``check(capacity)`` may refuse a capacity
    before its tapes are made.  Returns the capacity used (a later call can start from it)."""
    while True:
        if check is not None:
            check(capacity)
        tapes = new_tapes(blocks, capacity, inputs)
        run(tapes, False)
        wanted = int(tapes[:, ktape.CURSOR].max())
        if wanted <= capacity:
            break
        capacity = wanted
    objective.batch.evaluate_tapes(tapes, needs[0], needs[1], threads)
    tapes[:, ktape.MODE] = ktape.REPLAY
    tapes[:, ktape.CURSOR] = 0
    run(tapes, True)
    return capacity


def tape_launcher(block, setup, params, extra, options, chosen: int, objective, control, key, block_size: int,
                  n: int, inputs: int, needs: tuple[bool, bool]):
    """The launch of a block function whose objective is a batch objective (:func:`on_tapes`).

    The blocks of a chunk are taken a few at a time (tapes of at most :data:`TAPE_BYTES`); each group is run
    once recording the points its blocks ask f for, the points are evaluated in batches by the objective,
    and the group is run again from the same stream states with the answers.  A tape starts with room for
    one point per sample and grows when a block asks for more; one block's tape over
    :data:`TAPE_BLOCK_LIMIT` is refused with the block size that fits.
    """
    run = compiled(("tape driver",), lambda: driver.run_tape_blocks, driver.TAPE_RUN_SIGNATURE,
                   "block driver (batch objectives)")
    _, p, user, user1, cv, cv1 = objective_arguments(objective, control)
    args = (block, setup, params, extra, options, chosen, p, user, user1, cv, cv1, np.uint64(key))
    load_function_arguments(run, args)
    capacity = [block_size]

    def check(points: int) -> None:
        if tape_bytes(points, inputs) > TAPE_BLOCK_LIMIT:
            fits = max(1, (TAPE_BLOCK_LIMIT // 8 - ktape.HEADER) * block_size // (points * (1 + inputs)))
            raise ValueError(f"a block of {block_size:,} samples with points of length {inputs} needs a tape of "
                             f"{tape_bytes(points, inputs) / 2**30:.1f} GiB (at most {TAPE_BLOCK_LIMIT / 2**30:g} "
                             f"GiB); pass block_size={fits:,} or less")

    def launch(first_block, rows, counters):
        lo = 0
        while lo < rows.shape[0]:
            hi = min(rows.shape[0], lo + _tape_group(tape_bytes(capacity[0], inputs)))
            group = np.zeros((COUNTERS, hi - lo), np.int64)

            def run_group(tapes, replaying, lo=lo, hi=hi, group=group):
                run(*args, first_block + lo, block_size, n, rows[lo:hi], group, tapes)

            capacity[0] = on_tapes(run_group, objective, hi - lo, capacity[0], inputs, needs,
                                   numba.get_num_threads(), check)
            counters[:, lo:hi] = group
            lo = hi

    return launch


def launcher(dist, objective, spec, options, seed: int, block_size: int, n: int):
    """The launch of one sampling estimator on ``dist``."""
    family = families.module(dist.family)
    return kernel_launcher(block_function(spec, dist, objective), setup_function(spec), family.params(dist),
                           family.extra(dist), spec.kernel_options(options), spec.code, objective,
                           options.get("control"), run_key(seed), block_size, n, inputs=input_size(dist),
                           needs=(spec.needs_value, spec.needs_derivative))


def values_and_gradients(objective, points: np.ndarray, classes: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """f and grad f at each row of ``points``, for Python callers (the delta method's expansion point, the
    outcomes of a small discrete support): a batch objective takes them as one batch; ``classes`` groups a
    flat Categorical outcome as the kernels do."""
    points = np.ascontiguousarray(points, dtype=float)
    if objective.batch is not None:
        return objective.batch.evaluate(points, True, objective.has_derivative)
    at = compiled(("objective_at",), lambda: score_vr.objective_at, score_vr.OBJECTIVE_AT_SIGNATURE)
    user = objective.kernel_functions()[0]
    grads = np.empty_like(points)
    values = np.array([at(objective.code, objective.param, user, classes, point, grad)
                       for point, grad in zip(points, grads, strict=True)])
    return values, grads


def input_size(dist) -> int:
    """Length of the points x that f takes on ``dist`` (Beta: 1, the first coordinate)."""
    return int(getattr(dist, "size", dist.dim))


EXACT_MAX_OUTCOMES = 1 << 20
EXACT_MAX_WORK = 1 << 28  # outcomes x gradient components: about a second of enumeration


def enumeration_work(dist) -> int:
    """Outcomes times gradient components: the cost of enumerating ``dist``'s support."""
    return support_size(dist) * dist.logits.size


def support_size(dist) -> int:
    """Number of outcomes of a Bernoulli (2^D) or Categorical (K^D) distribution."""
    return (2 if dist.family == "bernoulli" else dist.classes) ** dist.dim


def enumerate_gradient(dist, objective) -> np.ndarray:
    """Exact gradient of E[f] over ``dist``'s components, by summing over the support.

    Refused (ValueError) above :data:`EXACT_MAX_OUTCOMES` outcomes.
    """
    size = support_size(dist)
    if size > EXACT_MAX_OUTCOMES:
        raise ValueError(f"exact enumerates at most {EXACT_MAX_OUTCOMES:,} outcomes (2**20); this "
                         f"{type(dist).__name__} has {size:,}")
    if enumeration_work(dist) > EXACT_MAX_WORK:
        raise ValueError(f"exact enumerates at most {EXACT_MAX_WORK:,} (2**28) outcomes x gradient components; this "
                         f"{type(dist).__name__} has {size:,} x {dist.logits.size:,}")
    enumerate_kernel = compiled(("enumerate",), lambda: discrete_kernels.enumerate_gradient,
                                discrete_kernels.ENUMERATE_SIGNATURE, "exact enumeration")
    out = np.empty(dist.logits.size)
    args = (dist.family == "categorical", families.discrete.params(dist))
    user = objective.kernel_functions()[0]
    if objective.batch is None:
        enumerate_kernel(*args, objective.code, objective.param, user, out)
    else:  # the outcomes recorded on a tape, evaluated as batches, replayed
        on_tapes(lambda tapes, replaying: enumerate_kernel(*args, ktape_address(tapes[0]), objective.param, user, out),
                 objective, 1, size, input_size(dist), (True, False), numba.get_num_threads())
    return out * dist.chain_factor()


def ktape_address(tape: np.ndarray) -> int:
    """The address a tape function takes as its objective code (the row's first element)."""
    return int(tape.ctypes.data)


def exact_launcher(gradient: np.ndarray, n: int, block_size: int):
    """A launch that writes every block as ``m`` copies of ``gradient`` (variance 0): the ``exact`` estimator."""

    def launch(first_block, rows, counters):
        for j in range(rows.shape[0]):
            rows[j, :, 0] = min(block_size, n - (first_block + j) * block_size)
            rows[j, :, 1] = gradient
            rows[j, :, 2:] = 0.0

    return launch


def with_pairs(values: np.ndarray) -> np.ndarray:
    """``values`` followed by the covariance's pair rows: ``values[i] + values[j]`` for every pair i < j in order
    (0, 1), (0, 2), ..., then ``values[i] - values[j]`` (the layout of ``kernels.moments.paired_components``)."""
    i, j = np.triu_indices(len(values), 1)
    return np.concatenate([values, values[i] + values[j], values[i] - values[j]])


def width_of(dist) -> int:
    """Number of gradient components."""
    return len(dist.components)
