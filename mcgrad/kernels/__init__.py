"""Numba kernels: every ``@njit`` function of mcgrad lives in this package."""
