"""The mergeable accumulator: partial moments of a contiguous range of blocks, merged in a fixed order."""

from __future__ import annotations

import numpy as np

from .kernels import moments


class Accumulator:
    """Partial moments of a contiguous range of blocks ``[first_block, end_block)``.

    Holds the aligned dyadic nodes of :mod:`mcgrad.kernels.moments` (O(log n) of them), so
    pushing blocks in order or merging adjacent ranges gives bitwise-identical totals.
    """

    def __init__(self, width: int, first_block: int = 0):
        cap = moments.NODE_CAPACITY
        self.width = width
        self.first_block = first_block
        self.end_block = first_block
        self.starts = np.zeros(cap, np.int64)
        self.levels = np.zeros(cap, np.int64)
        self.values = np.zeros((cap, width, moments.ROW))
        self.count = 0

    def push_rows(self, rows: np.ndarray) -> None:
        """Append the summaries of blocks ``end_block, end_block + 1, ...``."""
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
        out.end_block = self.end_block
        out.starts[:] = self.starts
        out.levels[:] = self.levels
        out.values[:] = self.values[:, columns]
        out.count = self.count
        return out

    def copy(self) -> Accumulator:
        out = Accumulator(self.width, self.first_block)
        out.end_block = self.end_block
        out.starts[:] = self.starts
        out.levels[:] = self.levels
        out.values[:] = self.values
        out.count = self.count
        return out

    def total(self) -> np.ndarray:
        """``(width, 5)`` central summary ``(n, mean, M2, M3, M4)`` of the whole range."""
        out = np.zeros((self.width, moments.ROW))
        if self.count:
            moments.fold_nodes(self.values, self.count, out)
        return out
