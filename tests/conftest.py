import numpy as np


def assert_close_se(measured, expected, stderr, k=5.0, what="value"):
    """|measured - expected| <= k standard errors, element-wise, with a readable message."""
    measured, expected, stderr = (np.atleast_1d(np.asarray(a, float)) for a in (measured, expected, stderr))
    assert np.all(np.isfinite(measured)), f"{what}: non-finite {measured}"
    # a component that is constant sample by sample has stderr 0: allow only rounding there
    stderr = np.maximum(stderr, 1e-12 * (1.0 + np.abs(expected)))
    z = (measured - expected) / stderr
    assert np.all(np.abs(z) <= k), f"{what}: measured {measured}, expected {expected}, z = {z}"
