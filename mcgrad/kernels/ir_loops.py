"""The counted loop of the LLVM-IR intrinsics: vector values carried in registers from one step to the next.

Numba cannot tell LLVM that an array of running values never overlaps the arrays a loop reads or writes, so a
loop that updates such values in memory reloads and stores them every step.  :func:`carried_loop` emits the
loop with the values as phis instead: loaded once before it, stored once after it.  The power sums
(:mod:`~mcgrad.kernels.lanes`) and the wide stream's states (:mod:`~mcgrad.kernels.wide_stream`) use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llvmlite import ir

I64 = ir.IntType(64)


def index(value: int) -> ir.Constant:
    """An ``i64`` constant."""
    return ir.Constant(I64, value)


def carried_loop(builder: ir.IRBuilder, pointers: Sequence[ir.Value], count: ir.Value,
                 body: Callable[[ir.Value, list], list], name: str) -> None:
    """Emit ``for step in range(count): values = body(step, values)`` with ``values`` loaded from ``pointers``
    before the loop (none of it runs when ``count <= 0``) and stored back after it.

    ``body`` emits one step at the builder's position and returns the updated values, one per pointer, in order.
    """
    start = [builder.load(p, align=8) for p in pointers]
    entry = builder.block
    loop = builder.append_basic_block(f"{name}.loop")
    done = builder.append_basic_block(f"{name}.done")
    builder.cbranch(builder.icmp_signed(">", count, index(0)), loop, done)

    builder.position_at_end(loop)
    step = builder.phi(I64)
    carried = [builder.phi(value.type) for value in start]
    updated = body(step, carried)
    following = builder.add(step, index(1))
    end = builder.block
    step.add_incoming(index(0), entry)
    step.add_incoming(following, end)
    for phi, before, after in zip(carried, start, updated, strict=True):
        phi.add_incoming(before, entry)
        phi.add_incoming(after, end)
    builder.cbranch(builder.icmp_signed("<", following, count), loop, done)

    builder.position_at_end(done)
    final = [builder.phi(value.type) for value in start]  # phis first in their block, then the stores
    for phi, before, after in zip(final, start, updated, strict=True):
        phi.add_incoming(before, entry)
        phi.add_incoming(after, end)
    for phi, pointer in zip(final, pointers, strict=True):
        builder.store(phi, pointer, align=8)
