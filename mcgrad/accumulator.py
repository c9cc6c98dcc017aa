"""The mergeable accumulator: partial moments of a contiguous range of blocks, merged in a fixed order."""

from __future__ import annotations

import numpy as np

from .kernels import moments


def slots(end_block: int) -> int:
    """Nodes a range ending at ``end_block`` can need while blocks are pushed: at most two aligned nodes per
    level below the highest bit of the end, and one being merged."""
    return min(moments.NODE_CAPACITY, 2 * int(end_block).bit_length() + 3)


class Accumulator:
    """Partial moments of a contiguous range of blocks ``[first_block, end_block)``.

    Holds the aligned dyadic nodes of :mod:`mcgrad.kernels.moments` (O(log n) of them), so
    pushing blocks in order or merging adjacent ranges gives bitwise-identical totals.
    """

    def __init__(self, width: int, first_block: int = 0):
        self.width = width
        self.first_block = first_block
        self.end_block = first_block
        self.count = 0
        self._allocate(slots(first_block + 1))

    def _allocate(self, capacity: int) -> None:
        """Room for ``capacity`` nodes, keeping the ones held."""
        starts = np.zeros(capacity, np.int64)
        levels = np.zeros(capacity, np.int64)
        values = np.zeros((capacity, self.width, moments.ROW))
        if self.count:
            starts[:self.count] = self.starts[:self.count]
            levels[:self.count] = self.levels[:self.count]
            values[:self.count] = self.values[:self.count]
        self.starts, self.levels, self.values = starts, levels, values

    def reserve(self, end_block: int) -> None:
        """Make room for the nodes of a range reaching ``end_block`` (memory grows with log(blocks), not 130
        slots of every component up front)."""
        if slots(end_block) > self.starts.shape[0]:
            self._allocate(slots(end_block))

    def push_rows(self, rows: np.ndarray) -> None:
        """Append the summaries of blocks ``end_block, end_block + 1, ...``."""
        self.reserve(self.end_block + rows.shape[0])
        self.count = moments.push_blocks(self.starts, self.levels, self.values, self.count, self.end_block, rows)
        self.end_block += rows.shape[0]

    def merge(self, other: Accumulator) -> Accumulator:
        """The accumulator of ``self`` followed by the adjacent range ``other``."""
        if other.width != self.width:
            raise ValueError(f"cannot merge results with {self.width} and {other.width} components")
        if other.first_block != self.end_block:
            raise ValueError(
                f"results must cover adjacent block ranges to merge: [{self.first_block}, {self.end_block}) "
                f"then [{other.first_block}, {other.end_block})"
            )
        out = self.copy()
        out.reserve(other.end_block)
        for i in range(other.count):
            out.count = moments.push_node(
                out.starts, out.levels, out.values, out.count, other.starts[i], other.levels[i], other.values[i]
            )
        out.end_block = other.end_block
        return out

    def select(self, columns) -> Accumulator:
        """The accumulator of the listed components only (their nodes are independent of the others')."""
        columns = list(columns)
        out = Accumulator(len(columns), self.first_block)
        out._take(self, self.values[:self.count][:, columns])
        return out

    def copy(self) -> Accumulator:
        out = Accumulator(self.width, self.first_block)
        out._take(self, self.values[:self.count])
        return out

    def _take(self, other: Accumulator, values: np.ndarray) -> None:
        """Hold ``other``'s range and nodes, with ``values`` as the nodes' summaries."""
        self.end_block = other.end_block
        self.reserve(other.end_block)
        self.count = other.count
        self.starts[:self.count] = other.starts[:other.count]
        self.levels[:self.count] = other.levels[:other.count]
        self.values[:self.count] = values

    def total(self) -> np.ndarray:
        """``(width, 5)`` central summary ``(n, mean, M2, M3, M4)`` of the whole range."""
        out = np.zeros((self.width, moments.ROW))
        if self.count:
            moments.fold_nodes(self.values, self.count, out)
        return out
