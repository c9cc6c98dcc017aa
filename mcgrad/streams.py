"""mcgrad's random streams and samplers, for other packages' ``@numba.njit`` code.

Every function here is compiled by Numba and callable from your own njit functions.  A stream state
is a tuple of four ``uint64`` words (xoshiro256**); every draw is a pure function
``state -> (state, value)``, so keep the state in a local variable of your njit code (from plain
Python, use the ``fill_*`` functions, which take the key and block)::

    import numba, numpy as np
    from mcgrad import streams

    @numba.njit
    def my_sampler(seed, block, out):
        s = streams.block_state(streams.stream_key(np.uint64(seed)), block)
        for i in range(out.shape[0]):
            s, e = streams.next_normal(s)      # ziggurat N(0, 1)
            s, g = streams.next_gumbel(s)      # standard Gumbel
            s, z = streams.next_gamma(s, 2.5)  # Marsaglia-Tsang Gamma(2.5, 1)
            out[i] = e + g + z

Block ``b`` of seed ``s`` is the stream mcgrad's own kernels use for samples
``[b * block_size, (b + 1) * block_size)``: ``fill_normals(run_key(seed), b, out)`` gives the normals
the Normal estimators see there.

Names
-----
stream_key(seed) -> key
    SplitMix64 hash of a uint64 seed: the start of a run's streams (``run_key`` is the same for
    Python ints up to 2**64 - 1).
block_state(key, block) -> state
    The xoshiro256** state of block ``block``; blocks never share state.
next_u64, next_double ([0, 1)), next_double_open ((0, 1)), next_normal (ziggurat),
next_exponential (-log U), next_gumbel (-log(-log U)), next_gamma(state, alpha)
    One draw each, ``(state, value)``.
mt_constants(alpha, boost) -> (d, c); gamma_draw(state, alpha, boost, d, c)
    The Gamma sampler with explicit shape augmentation ``boost`` (alpha + boost >= 1); returns
    ``(state, z, h, eps, v, log_sum, log_sum_sq, proposals)`` (see ``mcgrad.kernels.gamma``).  It is
    inlined at Numba's IR level: call it from a per-block function, not straight from a ``prange``
    body (``next_gamma`` has no such restriction).
fill_normals(key, block, out), fill_gamma(key, block, alpha, boost, out), fill_u64(state, out)
    Fill an array with a block's draws.

These are the kernels' own functions, called from njit code, so they check nothing: ``next_gamma`` and the
Gamma samplers need alpha > 0 (alpha + boost >= 1 for ``gamma_draw``), and give 0 or NaN otherwise; the
Python API checks its arguments (concentrations in [1e-3, 1e6]) before any kernel runs.
"""

from .kernels.gamma import fill_gamma, gamma_draw, mt_constants, next_gamma
from .kernels.rng import (
    block_state,
    fill_normals,
    fill_u64,
    next_double,
    next_double_open,
    next_exponential,
    next_gumbel,
    next_normal,
    next_u64,
    run_key,
    stream_key,
)

__all__ = [
    "block_state",
    "fill_gamma",
    "fill_normals",
    "fill_u64",
    "gamma_draw",
    "mt_constants",
    "next_double",
    "next_double_open",
    "next_exponential",
    "next_gamma",
    "next_gumbel",
    "next_normal",
    "next_u64",
    "run_key",
    "stream_key",
]
