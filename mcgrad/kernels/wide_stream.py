"""Eight xoshiro256** streams stepped together in vector registers: open uniforms at SIMD throughput.

One xoshiro256** stream yields a draw per step at best, and a step plus its conversion to a double is
about sixteen scalar instructions, so a loop that needs many uniforms per sample (Gumbel-Rao's conditional
Gumbels: K exponentials per conditional draw) is bound by them.  The step is all shifts, rotations, XORs
and multiplications by 5 and 9, which vector units do lane by lane: :func:`fill_open_uniforms` keeps
``WIDE`` independent streams as four ``<WIDE x i64>`` values and writes ``WIDE`` uniforms per step.

A wide stream is a ``(4, WIDE)`` ``uint64`` array (word, lane) made by :func:`wide_state` from one draw of a
block's stream, so its draws depend only on the run's seed and the block, as every other draw does.  Lane
``l`` is seeded like a block state (:func:`~mcgrad.kernels.rng.block_state` with block ``l`` of the key
drawn), and element ``i`` of a filled array comes from lane ``i mod WIDE``, step ``i // WIDE``: each lane
gives exactly the uniforms :func:`~mcgrad.kernels.rng.next_double_open` gives from the same state.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from ._jit import jit
from .ir_loops import I64, carried_loop, index
from .rng import block_state, next_u64

WIDE = 16  # lanes: two AVX-512 registers of uint64 (narrower machines split them, with the same bits)

_TWO_M53 = 1.0 / 9007199254740992.0


def _rotl(builder: ir.IRBuilder, x: ir.Value, k: int, vector: ir.VectorType) -> ir.Value:
    left = builder.shl(x, ir.Constant(vector, [k] * vector.count))
    right = builder.lshr(x, ir.Constant(vector, [64 - k] * vector.count))
    return builder.or_(left, right)


def wide_intrinsic(width: int):
    """The intrinsic :func:`fill_open_uniforms` for ``width`` lanes (any width gives each lane's own sequence)."""
    vector = ir.VectorType(I64, width)
    doubles = ir.VectorType(ir.DoubleType(), width)

    def splat(value, kind=vector):
        return ir.Constant(kind, [value] * width)

    def fill_open_uniforms(typingctx, state, out, steps):
        """Write ``steps`` steps of the ``width`` streams of ``state`` into ``out[:steps * width]`` (element
        ``i`` from lane ``i mod width``) and advance ``state``.

        ``state`` is ``(4, width)`` ``uint64`` and ``out`` any ``float64`` array, both C-contiguous; the caller
        keeps ``steps * width`` within ``out``.  Each value is ``(k + 1/2) 2^-53`` with ``k`` the top 53 bits of
        the lane's xoshiro256** output, formed as :func:`~mcgrad.kernels.rng.next_double_open` forms it.
        """
        if not (isinstance(state, types.Array) and state.ndim == 2 and state.layout == "C"
                and state.dtype == types.uint64):
            return None
        if not (isinstance(out, types.Array) and out.layout == "C" and out.dtype == types.float64):
            return None
        signature = types.void(state, out, types.int64)

        def codegen(context, builder, sig, args):
            state_value, out_value, count = args
            words = context.make_array(sig.args[0])(context, builder, state_value).data
            data = context.make_array(sig.args[1])(context, builder, out_value).data
            pointers = [builder.bitcast(builder.gep(words, [index(width * w)]), vector.as_pointer())
                        for w in range(4)]

            def step(number, state):
                s0, s1, s2, s3 = state
                result = builder.mul(_rotl(builder, builder.mul(s1, splat(5)), 7, vector), splat(9))
                t = builder.shl(s1, splat(17))
                n2 = builder.xor(s2, s0)
                n3 = builder.xor(s3, s1)
                n1 = builder.xor(s1, n2)
                n0 = builder.xor(s0, n3)
                n2 = builder.xor(n2, t)
                n3 = _rotl(builder, n3, 45, vector)
                rank = builder.sitofp(builder.lshr(result, splat(11)), doubles)
                uniform = builder.fmul(builder.fadd(rank, splat(0.5, doubles)), splat(_TWO_M53, doubles))
                address = builder.gep(data, [builder.mul(number, index(width))])
                builder.store(uniform, builder.bitcast(address, doubles.as_pointer()), align=8)
                return [n0, n1, n2, n3]

            carried_loop(builder, pointers, count, step, "wide")
            return context.get_dummy_value()

        return signature, codegen

    fill_open_uniforms.__name__ = f"fill_open_uniforms_{width}"
    return intrinsic(fill_open_uniforms)


fill_open_uniforms = wide_intrinsic(WIDE)


@jit
def wide_state(s):
    """``(state, wide)``: one draw of stream ``s`` keys the ``(4, WIDE)`` states of a wide stream (lane ``l``
    is :func:`~mcgrad.kernels.rng.block_state` ``(key, l)``)."""
    s, key = next_u64(s)
    wide = np.empty((4, WIDE), np.uint64)
    for lane in range(WIDE):
        words = block_state(key, lane)
        for w in range(4):
            wide[w, lane] = words[w]
    return s, wide
