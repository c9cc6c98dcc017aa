"""Tapes: how a block's objective evaluations leave the kernel as one batch and come back.

A batch objective (NumPy, JAX, PyTorch, or an ``@njit`` function of a whole batch) cannot be called once per
sample inside a kernel.  Every block function calls its objective through the per-sample user slot, and the
points at which it does so never depend on the values it gets back (the draws come from the block's own
stream), so a block is run twice with a *tape* in that slot:

1. **record** -- the tape functions below store each point x the block asks for and answer 0;
2. the points are evaluated as batches (:func:`evaluate_tapes` for ``@njit`` batch functions, host threads
   for the others), and f(x) and grad f(x) are written back onto the tape;
3. **replay** -- the same block, from the same stream state, gets the tape's answers in the same order, so
   it sees exactly what a per-sample objective would have returned and forms the same estimator terms.

A tape is one float64 row per block: a header (:data:`MODE`, :data:`CURSOR`, :data:`CAPACITY`, :data:`WIDTH`)
then ``CAPACITY`` entries of ``1 + WIDTH`` numbers (f, then x on record and grad f on replay).  The block
function's user slot receives the objective *code*; :func:`run_tape_blocks` of the driver passes the
address of the block's own tape there, which the tape functions turn back into the array.  Any code below
:data:`MIN_ADDRESS` (the user-function code -1, say) is not a tape: the functions then answer NaN and
touch no memory.  Past ``CAPACITY`` a recording keeps counting without storing, so the caller learns how
many points the block needs and records again with a larger tape.
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray, prange, types
from numba.core.extending import intrinsic

from ._jit import jit

MODE, CURSOR, CAPACITY, WIDTH = 0, 1, 2, 3
HEADER = 4
RECORD, REPLAY = 0.0, 1.0
MIN_ADDRESS = 1 << 16  # no heap array lies below 64 KiB; codes of built-ins and user functions are below 16

MATRIX = types.float64[:, ::1]
BATCH_VALUES_SIGNATURE = types.float64[::1](MATRIX)
BATCH_VALUES_FUNCTION = types.FunctionType(BATCH_VALUES_SIGNATURE)
BATCH_GRADIENTS_SIGNATURE = MATRIX(MATRIX)
BATCH_GRADIENTS_FUNCTION = types.FunctionType(BATCH_GRADIENTS_SIGNATURE)


@intrinsic
def _pointer(typingctx, address):
    """The int64 ``address`` as a float64 pointer."""
    signature = types.CPointer(types.float64)(types.int64)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

    return signature, codegen


@jit
def address(tape):
    """The address of a C-contiguous float64 array's first element, as the int64 a tape function takes."""
    return np.int64(tape.ctypes.data)


@jit
def _tape(code):
    header = carray(_pointer(code), HEADER)
    return carray(_pointer(code), HEADER + int(header[CAPACITY]) * (1 + int(header[WIDTH])))


@jit
def _entry(tape, x_width):
    """The next entry's offset, advancing the cursor; -1 when past capacity or for a point of the wrong width."""
    k = int(tape[CURSOR])
    tape[CURSOR] = k + 1
    width = int(tape[WIDTH])
    if k >= int(tape[CAPACITY]) or x_width != width:
        return -1
    return HEADER + k * (1 + width)


@jit
def tape_vector(code, p, x, grad):
    """The user slot's vector function on a tape: record x (answer f = 0, grad = 0) or replay (f, grad)."""
    if code < MIN_ADDRESS:
        grad[:] = math.nan
        return math.nan
    tape = _tape(code)
    at = _entry(tape, x.shape[0])
    if at < 0:
        grad[:] = 0.0 if tape[MODE] == RECORD else math.nan
        return 0.0 if tape[MODE] == RECORD else math.nan
    if tape[MODE] == RECORD:
        tape[at] = 0.0
        tape[at + 1:at + 1 + x.shape[0]] = x
        grad[:] = 0.0
        return 0.0
    grad[:] = tape[at + 1:at + 1 + x.shape[0]]
    return tape[at]


@jit
def tape_scalar(code, p, x):
    """The user slot's scalar (D = 1) function on a tape: ``(f, f')`` as :func:`tape_vector` does."""
    if code < MIN_ADDRESS:
        return math.nan, math.nan
    tape = _tape(code)
    at = _entry(tape, 1)
    if at < 0:
        return (0.0, 0.0) if tape[MODE] == RECORD else (math.nan, math.nan)
    if tape[MODE] == RECORD:
        tape[at] = 0.0
        tape[at + 1] = x
        return 0.0, 0.0
    return tape[at], tape[at + 1]


@jit
def batches(tapes, batch):
    """The batches of all tapes as rows ``(tape, first point, end point)``: each tape is cut from its first
    point, ``batch`` points at a time, so a point's batch depends only on its block."""
    total = 0
    for j in range(tapes.shape[0]):
        total += (int(tapes[j, CURSOR]) + batch - 1) // batch
    out = np.empty((total, 3), np.int64)
    row = 0
    for j in range(tapes.shape[0]):
        count = int(tapes[j, CURSOR])
        for lo in range(0, count, batch):
            out[row, 0], out[row, 1], out[row, 2] = j, lo, min(lo + batch, count)
            row += 1
    return out


@jit(parallel=True)
def evaluate_tapes(tapes, batch, values, gradients, need_values, need_gradients, status):
    """Evaluate every recorded point of every tape with ``@njit`` batch functions, the batches of
    :func:`batches` spread over the threads.

    ``values(X) -> (B,)`` and ``gradients(X) -> (B, D)``; f (grad f) is NaN where not needed.
    ``status[j]`` is set to 1 when a function returned the wrong shape for a batch of tape j.
    """
    status[:] = 0
    work = batches(tapes, batch)
    for t in prange(work.shape[0]):
        tape = tapes[work[t, 0]]
        lo, hi = work[t, 1], work[t, 2]
        width = int(tape[WIDTH])
        stride = 1 + width
        points = np.empty((hi - lo, width))
        for i in range(lo, hi):
            at = HEADER + i * stride
            points[i - lo, :] = tape[at + 1:at + stride]
        f = np.zeros(1)
        g = np.zeros((1, 1))
        if need_values:
            f = values(points)
            if f.shape[0] != hi - lo:
                status[work[t, 0]] = 1
                continue
        if need_gradients:
            g = gradients(points)
            if g.shape[0] != hi - lo or g.shape[1] != width:
                status[work[t, 0]] = 1
                continue
        for i in range(lo, hi):
            at = HEADER + i * stride
            tape[at] = f[i - lo] if need_values else math.nan
            for d in range(width):
                tape[at + 1 + d] = g[i - lo, d] if need_gradients else math.nan
