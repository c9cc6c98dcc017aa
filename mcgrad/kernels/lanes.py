"""Interleaved-lane power sums held in vector registers: the inner loop of every batch-wise accumulation.

:func:`add_lane_groups` is the loop that :func:`mcgrad.kernels.moments.add_component_lanes` runs over the
full groups of ``LANES`` samples of a batch.  Written in Numba it kept its ``4 x LANES`` partial sums in
memory: Numba cannot tell the compiler that the sums and the values never overlap, so every group
reloaded and stored all of them, and a D = 1 kernel spent more time on its power sums than on its
gradient.  Here the loop is emitted in LLVM IR with the sums of ``2 WIDTH`` lanes as vector values carried
from one group to the next (eight ``<WIDTH x double>`` registers), loaded before the loop and stored once
after it.

The arithmetic is that of :func:`~mcgrad.kernels.moments.add_powers`, lane by lane and group by group in
the same order (d = v - shift, d2 = d d, then s1 + d, s2 + d2, s3 + d2 d, s4 + d2 d2, no fused
multiply-add), so the sums are bitwise those of the scalar loop it replaces.
"""

from __future__ import annotations

from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import config
from numba.core.extending import intrinsic

from .ir_loops import carried_loop, index

LANES = 16  # interleaved partial sums of batch-wise loops (sample i of a block goes to lane i mod LANES)
FULL_WIDTH_512 = frozenset({"znver5"})
"""CPUs (LLVM's names) whose 512-bit vector operations run at full width beside the integer work of the draws:
AMD Zen 5.  On an AVX-512 Intel Xeon the 512-bit sums alone ran 1.3x faster, but the draws around them slowed
(fewer vector ports while 512-bit operations run): Normal pathwise fell from 0.73 to 0.68 of the raw normals.
On Zen 5 the same change took it from 0.72-0.73 to 0.74-0.76 on one thread (docs/performance.md)."""


def vector_width(cpu: str) -> int:
    """Doubles per vector value of the lane sums on ``cpu``: 8 (one 512-bit register) where 512-bit operations
    run at full width (:data:`FULL_WIDTH_512`), else 4 (one AVX register; narrower machines split it)."""
    return 8 if cpu in FULL_WIDTH_512 else 4


WIDTH = vector_width(config.CPU_NAME or llvm.get_host_cpu_name())
"""The width of this process's compiled code (Numba's ``NUMBA_CPU_NAME`` when set, else the host), so a cache
entry, which Numba keys on the CPU name, always holds this width."""


def _splat(builder: ir.IRBuilder, value, vector: ir.VectorType) -> ir.Value:
    first = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), vector.count), [0] * vector.count)
    return builder.shuffle_vector(first, ir.Constant(vector, ir.Undefined), mask)


def _pass(builder: ir.IRBuilder, vector: ir.VectorType, sums, values, first, groups, shift, lane0: int) -> None:
    """Emit the loop over ``groups`` for lanes ``lane0 .. lane0 + 2 width - 1``: two vectors per power."""
    width = vector.count
    vector_pointer = vector.as_pointer()
    pointers = [builder.bitcast(builder.gep(sums, [index(power * LANES + lane0 + width * k)]), vector_pointer)
                for power in range(4) for k in range(2)]

    def group_step(group, carried):
        offset = builder.add(first, builder.add(builder.mul(group, index(LANES)), index(lane0)))
        updated = [None] * len(carried)
        for k in range(2):
            address = builder.gep(values, [builder.add(offset, index(width * k))])
            d = builder.fsub(builder.load(builder.bitcast(address, vector_pointer), align=8), shift)
            d2 = builder.fmul(d, d)
            powers = (d, d2, builder.fmul(d2, d), builder.fmul(d2, d2))
            for power in range(4):
                updated[2 * power + k] = builder.fadd(carried[2 * power + k], powers[power])
        return updated

    carried_loop(builder, pointers, groups, group_step, "lanes")


def lane_groups_intrinsic(width: int):
    """The intrinsic :func:`add_lane_groups` emitted with ``width`` doubles per vector value (4 or 8; any width
    gives the same bits, so tests can run both on any machine)."""
    if width not in (4, 8):
        raise ValueError(f"width must be 4 or 8, got {width!r}")
    vector = ir.VectorType(ir.DoubleType(), width)

    def add_lane_groups(typingctx, sums, component, values, row, first, groups, shift):
        """``sums[component, k, l] += (values[row, first + g LANES + l] - shift)^(k + 1)`` for ``g < groups``,
        ``l < LANES``.

        ``sums`` holds the ``(4, LANES)`` power sums of each component, ``(components, 4, LANES)``; ``values`` is
        2-D; both C-contiguous, and the caller keeps ``first + groups * LANES`` within the row.  Groups are added
        in order, each lane on its own, exactly as the scalar loop ``s1[l], s2[l], s3[l], s4[l] = add_powers(...,
        v - shift)``.  Indices, not views, come in: a view costs an atomic reference-count update.
        """
        if not (isinstance(sums, types.Array) and sums.ndim == 3 and sums.layout == "C"
                and sums.dtype == types.float64):
            return None
        if not (isinstance(values, types.Array) and values.ndim == 2 and values.layout == "C"
                and values.dtype == types.float64):
            return None
        signature = types.void(sums, types.int64, values, types.int64, types.int64, types.int64, types.float64)

        def codegen(context, builder, sig, args):
            sums_value, component_index, values_value, row_index, first_column, count, shift_value = args
            sums_data = context.make_array(sig.args[0])(context, builder, sums_value).data
            component_sums = builder.gep(sums_data, [builder.mul(component_index, index(4 * LANES))])
            values_array = context.make_array(sig.args[2])(context, builder, values_value)
            columns = builder.extract_value(values_array.shape, 1)
            first_index = builder.add(builder.mul(row_index, columns), first_column)
            shift_vector = _splat(builder, shift_value, vector)
            for lane0 in range(0, LANES, 2 * width):
                _pass(builder, vector, component_sums, values_array.data, first_index, count, shift_vector, lane0)
            return context.get_dummy_value()

        return signature, codegen

    add_lane_groups.__name__ = f"add_lane_groups_{width}"
    return intrinsic(add_lane_groups)


add_lane_groups = lane_groups_intrinsic(WIDTH)
