"""The one njit factory: every kernel in mcgrad is compiled through :func:`jit`.

Flags live here and nowhere else:

* ``cache=True`` so a second process loads machine code instead of compiling;
* ``fastmath`` with contraction, no-signed-zeros and reciprocal approximations allowed,
  but *without* ``nnan``/``ninf`` (non-finite gradients must stay detectable) and
  without ``reassoc`` (the order of floating-point sums is part of the reproducibility
  contract);
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising inside
  a parallel region.
"""

from __future__ import annotations

import threading

import numba

FASTMATH = frozenset({"contract", "nsz", "arcp"})

_lock = threading.Lock()


def jit(func=None, *, parallel: bool = False, inline: bool = False):
    """Decorate a kernel with mcgrad's njit settings (``@jit`` or ``@jit(parallel=True)``).

    ``inline=True`` inlines the function at Numba's IR level into every caller.  Use it for
    per-sample helpers that contain a loop (rejection samplers): LLVM declines to inline those,
    and a call that passes the stream state through memory made the Gamma sampler 2.5x slower.
    """
    options = dict(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True)
    if parallel:
        options["parallel"] = True
    if inline:
        options["inline"] = "always"

    def wrap(f):
        return numba.njit(**options)(f)

    return wrap(func) if func is not None else wrap


def exact_signature(dispatcher, signature):
    """Compile ``dispatcher`` for exactly ``signature`` (or load it from the cache) and freeze it.

    Freezing matters for kernels that take a user objective: a frozen dispatcher converts
    any ``@njit`` function of the right signature to a first-class function pointer, so one
    cached kernel serves every user function instead of being recompiled for each.
    """
    with _lock:
        if not dispatcher.signatures:
            dispatcher.compile(signature)
            dispatcher.disable_compile()
    return dispatcher
