import numba
import numpy as np

import mcgrad


def assert_close_se(measured, expected, stderr, k=5.0, what="value"):
    """|measured - expected| <= k standard errors, element-wise, with a readable message."""
    measured, expected, stderr = (np.atleast_1d(np.asarray(a, float)) for a in (measured, expected, stderr))
    assert np.all(np.isfinite(measured)), f"{what}: non-finite {measured}"
    # a component that is constant sample by sample has stderr 0: allow only rounding there
    stderr = np.maximum(stderr, 1e-12 * (1.0 + np.abs(expected)))
    z = (measured - expected) / stderr
    assert np.all(np.abs(z) <= k), f"{what}: measured {measured}, expected {expected}, z = {z}"


def assert_same_up_to_rounding(result, reference):
    """Two estimates of the same draws through different loops (vector rounds against the per-sample loop):
    means within 1e-6 of a standard error, variances within 1e-8 relative; a wrong term would miss by far more."""
    np.testing.assert_allclose(result.mean, reference.mean, rtol=0, atol=1e-6 * reference.stderr.max())
    np.testing.assert_allclose(result.var, reference.var, rtol=1e-8)


@numba.njit
def relax_control_value(z):
    return 0.3 * z * z - 0.1 * z


@numba.njit
def relax_control_derivative(z):
    return 0.6 * z - 0.1


# the control variate c(z) = 0.3 z^2 - 0.1 z that every relax test runs with
RELAX_CONTROL = mcgrad.user_objective(relax_control_value, relax_control_derivative, name="cv")
