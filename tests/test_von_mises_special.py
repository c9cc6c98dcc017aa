"""mcgrad.kernels.von_mises_special against mpmath (40 digits) and its sampler against its own CDF.

References: log I0 and A = I1 / I0 from mpmath.besseli; F(x), dF/dkappa and dz/dkappa = -(dF/dkappa) / q(x)
from mpmath.quad of the integral definitions, F = int_{-pi}^x q dt and dF/dkappa = int_{-pi}^x (cos t - A) q dt,
each over the side of x where it does not cancel (int_{-pi}^{pi} (cos t - A) q dt = 0, q is even), cut into
pieces on which kappa cos t changes by 8 and stopped where the integrand is below e^-112 of its value at x.
Tolerances: 1e-12 relative for cdf, cdf_dkappa (where it is a normal number) and implicit_dz_dkappa
(measured: 1.5e-13, 2e-13, 3e-15), 1e-14 for the Bessel functions (measured 1e-15).  The sampler: a
Kolmogorov-Smirnov distance below 1.5 times its 0.1 % critical value (p ~ 1e-7 for a correct sampler), and
sample means within 5 standard errors of E[cos z] = A and of d E[cos z] / dkappa = A' = 1 - A / kappa - A^2
(the latter through the implicit gradient).
"""

import math

import numba
import numpy as np
import pytest

from mcgrad.kernels import rng
from mcgrad.kernels import von_mises_special as vm

mp = pytest.importorskip("mpmath")

PI_BELOW = math.nextafter(math.pi, 0.0)  # the double below fl(pi); |x| >= fl(pi) is the end of the support


def _map2(f):
    @numba.njit
    def run(x, kappa):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = f(x[i], kappa)
        return out

    return run


CDF, CDF_DKAPPA, IMPLICIT = _map2(vm.cdf), _map2(vm.cdf_dkappa), _map2(vm.implicit_dz_dkappa)


@numba.njit
def _bessel(kappa):
    out = np.empty((2, kappa.shape[0]))
    for i in range(kappa.shape[0]):
        out[0, i] = vm.log_bessel_i0(kappa[i])
        out[1, i] = vm.bessel_ratio(kappa[i])
    return out


@numba.njit
def _draws(key, block, kappa, n):
    s = rng.block_state(key, block)
    out = np.empty(n)
    for i in range(n):
        s, out[i] = vm.sample(s, kappa)
    return out


def _reference(kappa, x):
    """(F(x), F(-x), dF/dkappa, dz/dkappa) at the double 0 < x < pi, from mpmath at 40 digits."""
    with mp.workdps(40):
        k = mp.mpf(kappa)
        i0 = mp.besseli(0, k)
        a = mp.besseli(1, k) / i0
        x = mp.mpf(x)
        c = mp.cos(x)
        q = mp.exp(k * c) / (2 * mp.pi * i0)

        def ratio(t):  # q(t) / q(x)
            return mp.exp(k * (mp.cos(t) - c))

        upper = [x]  # [x, pi] in pieces on which kappa cos t falls by 8, down to e^-112
        for j in range(1, 15):
            target = c - 8 * j / k
            if target <= -1:
                upper.append(mp.pi)
                break
            upper.append(mp.acos(target))
        tail = mp.quad(ratio, upper)  # (1 - F) / q(x)
        if x < mp.acos(a):
            r = mp.quad(lambda t: (mp.cos(t) - a) * ratio(t), [0, x])
        else:
            r = mp.quad(lambda t: (a - mp.cos(t)) * ratio(t), upper)
        return 1 - q * tail, q * tail, q * r, -r


def _points(kappa):
    """x in (0, pi): next to 0, t0 = arccos A and pi, and where kappa (1 -+ cos x) takes set values."""
    t0 = math.acos(float(mp.besseli(1, kappa) / mp.besseli(0, kappa)))
    xs = [1e-300, 1e-9, t0 / 3, t0 * (1 - 1e-6), t0 * (1 + 1e-6), 1.0, 2.0, 3.0, math.pi - 1e-8, PI_BELOW]
    xs += [math.acos(1 - v / kappa) for v in (4.0, 40.0, 300.0, 700.0, 1500.0) if v < 2 * kappa]
    xs += [math.acos(v / kappa - 1) for v in (0.5, 7.9, 8.1, 30.0, 80.0) if v < 2 * kappa]
    return np.array(sorted(x for x in set(xs) if 0 < x < math.pi))


KAPPAS = [1e-6, 1e-3, 0.3, 2.5, 19.99, 20.0, 150.0, 1e4, 1e7]


@pytest.mark.parametrize("kappa", KAPPAS)
def test_cdf_and_kappa_derivatives_against_mpmath(kappa):
    x = _points(kappa)
    ref = np.array([[float(v) for v in _reference(kappa, xi)] for xi in x])
    f_ref, f_neg_ref, g_ref, d_ref = ref.T
    for sign, f_want in ((1.0, f_ref), (-1.0, f_neg_ref)):
        f = CDF(sign * x, kappa)
        g = CDF_DKAPPA(sign * x, kappa)
        d = IMPLICIT(sign * x, kappa)
        tail = f_want >= 1e-300  # the lower tail underflows with q(x)
        np.testing.assert_allclose(f[tail], f_want[tail], rtol=1e-12, atol=0, err_msg=f"cdf, kappa={kappa}")
        assert np.all(f[~tail] <= 1e-290)
        normal = np.abs(g_ref) >= 1e-300  # dF/dkappa underflows with q(x) in the far tails
        np.testing.assert_allclose(g[normal], sign * g_ref[normal], rtol=1e-12, atol=0,
                                   err_msg=f"cdf_dkappa, kappa={kappa}")
        assert np.all(np.abs(g[~normal]) <= 1e-290)
        np.testing.assert_allclose(d, sign * d_ref, rtol=1e-12, atol=0, err_msg=f"dz/dkappa, kappa={kappa}")
        assert np.all(np.isfinite(d)) and np.all(sign * d < 0)


def test_bessel_functions_against_mpmath():
    kappa = np.concatenate([np.logspace(-8, 6, 141), [19.99, 20.0, 20.01]])
    got = _bessel(kappa)
    with mp.workdps(40):
        log_i0 = np.array([float(mp.log(mp.besseli(0, k))) for k in kappa])
        ratio = np.array([float(mp.besseli(1, k) / mp.besseli(0, k)) for k in kappa])
    np.testing.assert_allclose(got[0], log_i0, rtol=1e-14, atol=0)
    np.testing.assert_allclose(got[1], ratio, rtol=1e-14, atol=0)


def test_edges_symmetry_and_domain():
    for kappa in (1e-3, 1.0, 30.0, 1e4):
        assert vm.cdf(-math.pi, kappa) == 0.0 and vm.cdf(math.pi, kappa) == 1.0
        assert vm.cdf(-4.0, kappa) == 0.0 and vm.cdf(4.0, kappa) == 1.0
        assert vm.cdf(0.0, kappa) == 0.5
        for x in (0.0, math.pi, -math.pi):
            assert vm.cdf_dkappa(x, kappa) == 0.0 and vm.implicit_dz_dkappa(x, kappa) == 0.0
        x = np.linspace(0.0, math.pi, 51)
        x = np.concatenate([-x[::-1], x[1:]])
        d = IMPLICIT(x, kappa)
        np.testing.assert_array_equal(d, -d[::-1])  # odd, exactly
        np.testing.assert_array_equal(CDF_DKAPPA(x, kappa), -CDF_DKAPPA(x[::-1], kappa))
        np.testing.assert_allclose(CDF(x, kappa) + CDF(-x, kappa), 1.0, rtol=0, atol=2e-16)
        assert np.all(np.diff(CDF(x, kappa)) >= 0)
        _, a, one_minus_a = vm.bessel_terms(kappa)
        assert all(vm.dz_dkappa(xi, kappa, a, one_minus_a) == vm.implicit_dz_dkappa(xi, kappa) for xi in x)
    for f in (vm.cdf, vm.cdf_dkappa, vm.implicit_dz_dkappa):
        for point, kappa in ((0.5, 0.0), (0.5, -1.0), (0.5, math.nan), (math.nan, 1.0)):
            assert math.isnan(f(point, kappa))
    assert math.isnan(vm.log_bessel_i0(0.0)) and math.isnan(vm.bessel_ratio(-1.0))
    # small kappa: dz/dkappa -> -sin z
    np.testing.assert_allclose(IMPLICIT(x, 1e-9), -np.sin(x), rtol=0, atol=1e-8)


@pytest.mark.parametrize("kappa", [1e-3, 0.5, 2.0, 50.0, 1e4])
def test_sampler_matches_cdf_and_implicit_gradient(kappa):
    n = 200_000
    z = _draws(rng.run_key(20240617), 3, kappa, n)
    assert np.all(np.abs(z) < math.pi)
    # Kolmogorov-Smirnov distance to the CDF
    f = CDF(np.sort(z), kappa)
    i = np.arange(1, n + 1)
    distance = max(np.max(i / n - f), np.max(f - (i - 1) / n))
    assert distance < 1.5 * 1.95 / math.sqrt(n), distance
    # E[cos z] = A(kappa)
    a = vm.bessel_ratio(kappa)
    c = np.cos(z)
    assert abs(c.mean() - a) <= 5 * c.std() / math.sqrt(n)
    # implicit reparameterisation: E[-sin z dz/dkappa] = d E[cos z] / dkappa = 1 - A / kappa - A^2
    g = -np.sin(z) * IMPLICIT(z, kappa)
    assert abs(g.mean() - (1.0 - a / kappa - a * a)) <= 5 * g.std() / math.sqrt(n)


def test_sampler_stable_constants():
    # the wrapped-Cauchy constants without cancellation: rho = kappa / 2 (1 - 3 kappa^2 / 4 ...) for small
    # kappa and 1 - rho ~ 1 / sqrt(kappa) for large kappa
    for kappa in (1e-12, 1e-6, 1e-3):
        _, _, rho = vm.sampler_constants(kappa)
        assert rho == pytest.approx(0.5 * kappa * (1 - 0.75 * kappa * kappa), rel=1e-14)
    with mp.workdps(40):
        for kappa in (0.5, 2.0, 1e4, 1e8):
            tau = 1 + mp.sqrt(1 + 4 * mp.mpf(kappa) ** 2)
            rho = (tau - mp.sqrt(2 * tau)) / (2 * kappa)
            ratio, _, got = vm.sampler_constants(kappa)
            assert got == pytest.approx(float(rho), rel=1e-15)
            assert ratio == pytest.approx(float((1 - rho) / (1 + rho)), rel=1e-14)
    z = _draws(rng.run_key(5), 0, 1e10, 10_000)
    assert 0.9 < np.std(z) * math.sqrt(1e10) < 1.1
    z = _draws(rng.run_key(5), 0, 0.0, 100_000)  # kappa = 0: uniform on the circle
    assert abs(np.mean(z)) < 5 * math.pi / math.sqrt(3 * 100_000)
    assert abs(np.mean(z * z) - math.pi**2 / 3) < 5 * math.sqrt(4 * math.pi**4 / 45 / 100_000)
