"""The one block driver and the one SGD loop: every family and every estimator runs through them.

A (family, estimator) pair is a *block function* of :data:`BLOCK_SIGNATURE`: it runs one block of m
samples from the stream state ``s`` and writes the block's central summaries (``n, mean, M2, M3, M4``
per gradient component) into ``row``.  Its arguments are the same for every family:

* ``params`` -- the family's parameters as rows (Normal and Gamma: ``[loc; scale]`` / ``[concentration;
  rate]``, shape (2, D); Beta and Dirichlet: the concentrations, shape (1, K); Bernoulli and Categorical:
  the logits, shape (D, K), Bernoulli K = 1), so ``params.ravel()`` is in gradient-component order;
* ``extra`` -- per-run data the estimator needs besides the parameters (the discrete chain factor
  d logit / d parameter; the baselines and control coefficients of the variance-reduced estimators);
* ``options`` -- the estimator's numeric options, in the order its declaration lists them;
* ``tables`` -- what the estimator's *setup* function (:data:`SETUP_SIGNATURE`) derived from the
  parameters once per launch (the implicit-gradient tables of the Gamma family; empty otherwise);
* ``chosen`` -- the estimator's code in its family's kernel module, read by block functions that serve
  several estimators (one compile for a family's general loops); others know their estimator;
* the objective ``(code, p, user, user1)`` and a control variate ``(cv, cv1)``;
* ``counting`` -- count the samples with a non-finite component (the driver re-runs a block whose
  summaries came out non-finite with it set, so the fast path carries no check).

It returns ``(non-finite samples, sampler proposals)``.  Block functions are first-class function
values: one cached compilation of :func:`run_blocks` serves every (family, estimator), and each block
function is compiled (or loaded from the cache) only when its estimator is first used.  Step t of
:func:`sgd` is block t of the same block function, so an optimisation step equals the block of
``estimate`` by construction.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, types

from ._jit import jit
from .objectives import USER_FUNCTION, USER_SCALAR_FUNCTION
from .rng import block_state
from .tape import CURSOR, address

STATE = types.UniTuple(types.uint64, 4)
OBJECTIVE = (types.int64, types.float64, USER_FUNCTION, USER_SCALAR_FUNCTION,  # objective: code, parameter, user
             USER_FUNCTION, USER_SCALAR_FUNCTION)  # control variate c(z)
MATRIX = types.float64[:, ::1]
VECTOR = types.float64[::1]

BLOCK_SIGNATURE = types.UniTuple(types.int64, 2)(
    MATRIX, VECTOR, VECTOR, MATRIX,  # params, extra, options, tables
    types.int64,  # the estimator's code in its family's kernel module (for block functions shared by estimators)
    *OBJECTIVE,
    STATE, types.int64, MATRIX, types.boolean,  # stream state, samples, row out, count non-finite
)
BLOCK_FUNCTION = types.FunctionType(BLOCK_SIGNATURE)
SETUP_SIGNATURE = MATRIX(MATRIX, VECTOR)  # (params, options) -> tables
SETUP_FUNCTION = types.FunctionType(SETUP_SIGNATURE)

RUN_SIGNATURE = types.void(
    BLOCK_FUNCTION, SETUP_FUNCTION, MATRIX, VECTOR, VECTOR, types.int64,  # block, setup, params, extra, options, code
    *OBJECTIVE,
    types.uint64, types.int64, types.int64, types.int64,  # key, first block, block size, n
    types.float64[:, :, ::1], types.int64[:, ::1],  # rows out, counters out (non-finite, proposals, evaluations)
)

TAPE_RUN_SIGNATURE = types.void(
    BLOCK_FUNCTION, SETUP_FUNCTION, MATRIX, VECTOR, VECTOR, types.int64,  # block, setup, params, extra, options, code
    *OBJECTIVE[1:],  # the objective's code is each block's tape address
    types.uint64, types.int64, types.int64, types.int64,  # key, first block, block size, n
    types.float64[:, :, ::1], types.int64[:, ::1], MATRIX,  # rows out, counters out, tapes
)

SGD_SIGNATURE = types.void(
    BLOCK_FUNCTION, SETUP_FUNCTION, MATRIX, VECTOR, VECTOR, VECTOR, types.int64,  # block, setup, parameters (moved
    # in place), extra, options, floors, estimator code
    *OBJECTIVE,
    types.int64, types.boolean, types.float64,  # summary rows of a block, moving-average baseline, decay
    types.uint64, types.int64, types.float64, MATRIX,  # key, samples per step K, learning rate, out
    types.int64, types.int64, types.boolean,  # first step, end step, apply the steps
)


@jit
def no_tables(params, options):
    """The setup of estimators that derive nothing from the parameters."""
    return np.zeros((1, 0))


@jit
def _run_block(block, params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, key, b, block_size, n,
               row, counters, j, tape):
    """Block b into ``row`` and ``counters[:, j]``; a tape (empty for none) is rewound before each run."""
    m = min(block_size, n - b * block_size)
    s = block_state(key, b)
    if tape.shape[0] > 0:
        tape[CURSOR] = 0
    _, proposals = block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, False)
    counters[0, j] = 0
    counters[1, j] = proposals
    if not np.all(np.isfinite(row)):
        if tape.shape[0] > 0:
            tape[CURSOR] = 0
        counters[0, j] = block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                               True)[0]


@jit(parallel=True)
def run_blocks(block, setup, params, extra, options, chosen, code, p, user, user1, cv, cv1, key, first_block,
               block_size, n, rows, counters):
    """Fill ``rows[j]`` with the summaries of block ``first_block + j`` of an n-sample run, over all threads.

    ``counters[0, j]`` gets the block's non-finite samples (counted by a second run of a block whose
    summaries came out non-finite), ``counters[1, j]`` its sampler proposals.
    """
    tables = setup(params, options)
    no_tape = np.empty(0)
    for j in prange(rows.shape[0]):
        _run_block(block, params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, key,
                   first_block + j, block_size, n, rows[j], counters, j, no_tape)


@jit(parallel=True)
def run_tape_blocks(block, setup, params, extra, options, chosen, p, user, user1, cv, cv1, key, first_block,
                    block_size, n, rows, counters, tapes):
    """:func:`run_blocks` with the objective on tapes (:mod:`mcgrad.kernels.tape`): block j's objective code is
    the address of ``tapes[j]``, which records or replays as its header says; ``counters[2, j]`` gets the
    number of objective evaluations the block asked for."""
    tables = setup(params, options)
    for j in prange(rows.shape[0]):
        tape = tapes[j]
        _run_block(block, params, extra, options, tables, chosen, address(tape), p, user, user1, cv, cv1, key,
                   first_block + j, block_size, n, rows[j], counters, j, tape)
        counters[2, j] = int(tape[CURSOR])


@jit
def _moving_baseline(out, t, dim, moving, decay):
    """b_t = decay b_{t-1} + (1 - decay) fbar_{t-1}, b_1 = fbar_0, b_0 = 0 (0 throughout without ``moving``), from
    the rows ``out[t - 1] = (parameters, fbar, b)`` of the steps before."""
    if not moving or t == 0:
        return 0.0
    if t == 1:
        return out[0, dim]
    return decay * out[t - 1, dim + 1] + (1.0 - decay) * out[t - 1, dim]


@jit
def sgd_step(block, setup, params, extra, options, floors, chosen, code, p, user, user1, cv, cv1, width, moving, decay,
             key, group, lr, t, out, apply):
    """Step t of :func:`sgd`: block t of ``block`` on ``group`` samples at ``params``, written to ``out[t]``;
    with ``apply`` the projected step moves ``params`` (without it the step only evaluates, as the recording
    pass of a batch objective does).  The moving-average baseline of step t is derived from ``out[t - 1]``."""
    flat = params.ravel()
    dim = flat.shape[0]
    baseline = _moving_baseline(out, t, dim, moving, decay)
    out[t, :dim] = flat
    out[t, dim + 1] = baseline
    baseline_extra = extra.copy()
    if moving:
        baseline_extra[:dim] = baseline
    row = np.empty((width, 5))
    tables = setup(params, options)
    block(params, baseline_extra, options, tables, chosen, code, p, user, user1, cv, cv1, block_state(key, t), group,
          row, False)
    out[t, dim] = row[width - 1, 1] if moving else math.nan
    if apply:  # the gradient's components come first (the variance-reduced kernel's reduced estimator too)
        for c in range(dim):  # floors[:dim] the lower bounds, floors[dim:] the upper ones
            flat[c] = min(max(flat[c] - lr * row[c, 1], floors[c]), floors[dim + c])


@jit
def sgd(block, setup, params, extra, options, floors, chosen, code, p, user, user1, cv, cv1, width, moving, decay, key,
        group, lr, out, first, end, apply):
    """Steps ``first .. end - 1`` of stochastic gradient descent whose step t is block t (K = ``group`` samples)
    of ``block``, moving ``params`` in place.

    ``out[t]`` = (parameters before step t, mean f over step t's samples or NaN, baseline used); the last row
    (written when ``end`` is the last step) holds the final parameters.  Parameters move by ``-lr`` times the
    block mean and are projected onto ``[floors[c], floors[D + c]]`` (the family's range; infinite: free).  With
    ``moving`` the block is the variance-reduced score kernel (rows: reduced, plain score, sum, difference, then
    f) whose baselines ``extra[:W]`` are set each step to b_t = decay b_{t-1} + (1 - decay) fbar_{t-1}
    (b_0 = 0): built from earlier steps only, so every step stays unbiased.  Without ``apply`` the steps only
    evaluate (the recording pass of a batch objective, run one step at a time).
    """
    for t in range(first, end):
        sgd_step(block, setup, params, extra, options, floors, chosen, code, p, user, user1, cv, cv1, width, moving,
                 decay, key, group, lr, t, out, apply)
    if apply and end == out.shape[0] - 1:
        sgd_finish(params, out, moving, decay)


@jit
def sgd_finish(params, out, moving, decay):
    """The last row of an SGD run's ``out``: the final parameters, no f, the baseline the next step would use."""
    flat = params.ravel()
    dim = flat.shape[0]
    steps = out.shape[0] - 1
    out[steps, :dim] = flat
    out[steps, dim] = math.nan
    out[steps, dim + 1] = _moving_baseline(out, steps, dim, moving, decay)
