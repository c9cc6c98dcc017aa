"""Slow, obviously-correct oracles for Bernoulli and Categorical, written from docs/estimators.md in plain Python.

* exact enumeration of the support: E[f], its gradient w.r.t. the logits and the score estimator's
  per-sample variance;
* for one Bernoulli, every estimator as a function of its uniforms (u, v), integrated by quadrature,
  giving exact means and variances of the biased estimators too;
* the Categorical estimators that are a function of the outcome alone (reinmax, gapped straight-through),
  enumerated, and
  sum-and-sample over its outcome and its draw outside the summed classes;
* Gumbel-Rao on two classes by quadrature over the Gumbels' difference.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
from scipy import integrate
from scipy.special import expit, log_softmax


def enumerate_bernoulli(logits, f):
    """``(E f, grad_logits E f, Var of the score estimator per component)`` by summing over {0,1}^D."""
    logits = np.atleast_1d(np.asarray(logits, float))
    theta = expit(logits)
    mean, grad, second = 0.0, np.zeros(logits.size), np.zeros(logits.size)
    for bits in itertools.product((0.0, 1.0), repeat=logits.size):
        b = np.array(bits)
        p = float(np.prod(np.where(b == 1.0, theta, 1.0 - theta)))
        fb = f(b)
        g = fb * (b - theta)
        mean += p * fb
        grad += p * g
        second += p * g * g
    return mean, grad, second - grad * grad


def enumerate_categorical(logits, f):
    """The same over one-hot outcomes of D categoricals (logits of shape (K,) or (D, K)); flat components."""
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(log_softmax(logits, axis=1))
    mean, grad, second = 0.0, np.zeros(dim * classes), np.zeros(dim * classes)
    for ks in itertools.product(range(classes), repeat=dim):
        onehot = np.zeros((dim, classes))
        onehot[np.arange(dim), ks] = 1.0
        p = float(np.prod(theta[np.arange(dim), ks]))
        fb = f(onehot.ravel())
        g = fb * (onehot - theta).ravel()
        mean += p * fb
        grad += p * g
        second += p * g * g
    return mean, grad, second - grad * grad


def reinmax_moments(logits, df, temperature):
    """Exact (mean, variance) per flat component of ReinMax on D categoricals, by enumeration.

    ReinMax (Liu et al. 2023, Algorithm 2) as written there: pi0 = softmax(l), D ~ pi0 one-hot,
    pi1 = (D + softmax(l / temperature)) / 2, pi2 = 2 pi1 - pi0 / 2, and the gradient backpropagates through
    pi2 with pi1 = softmax(stop_gradient(log pi1 - l) + l): g = (2 J(pi1) - J(pi0) / 2) grad f(D) per variable,
    J(pi) = diag(pi) - pi pi^T.  ``df(x)`` is grad f at the flat one-hot vector x.
    """
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(log_softmax(logits, axis=1))
    tempered = np.exp(log_softmax(logits / temperature, axis=1))
    mean, second = np.zeros(dim * classes), np.zeros(dim * classes)
    for ks in itertools.product(range(classes), repeat=dim):
        onehot = np.zeros((dim, classes))
        onehot[np.arange(dim), ks] = 1.0
        p = float(np.prod(theta[np.arange(dim), ks]))
        v = np.reshape(df(onehot.ravel()), (dim, classes))
        g = np.empty((dim, classes))
        for d in range(dim):
            pi1 = (onehot[d] + tempered[d]) / 2
            jacobian = 2 * (np.diag(pi1) - np.outer(pi1, pi1)) - (np.diag(theta[d]) - np.outer(theta[d], theta[d])) / 2
            g[d] = jacobian @ v[d]
        mean += p * g.ravel()
        second += p * g.ravel() ** 2
    return mean, second - mean * mean


def gumbel_rao_moments(logits, df, lam, samples):
    """Exact (mean, variance) per component of Gumbel-Rao on one categorical of two classes, by quadrature.

    Straight-through Gumbel-softmax is g = J(z) grad f(D_b), J = (diag(s) - s s^T) / lam, s = softmax(z / lam),
    z = l + G.  With two classes only the difference t = z_1 - z_0 = l_1 - l_0 + (G_1 - G_0) matters (G_1 - G_0
    is standard logistic): s_1 = sigmoid(t / lam), b = 1[t > 0], and g = s_0 s_1 (v_0 - v_1) (1, -1) / lam.
    Gumbel-Rao averages ``samples`` draws of g given b, so its variance is
    sum_b theta_b (m_b^2 + (q_b - m_b^2) / samples) - (sum_b theta_b m_b)^2 with m_b, q_b the conditional
    moments E[g | b], E[g^2 | b] -- integrals over t restricted to the side of 0 that gives b.
    """
    delta = float(logits[1] - logits[0])
    theta1 = float(expit(delta))
    mean, second = np.zeros(2), np.zeros(2)
    for b, (lo, hi), theta_b in ((0, (-np.inf, 0.0), 1.0 - theta1), (1, (0.0, np.inf), theta1)):
        v = np.asarray(df(np.eye(2)[b]), float)

        def g(t, v=v):
            s1 = float(expit(t / lam))
            return s1 * (1.0 - s1) * (v[0] - v[1]) / lam

        def density(t):
            return float(expit(t - delta) * expit(delta - t))  # logistic, centred at l_1 - l_0

        m = integrate.quad(lambda t: g(t) * density(t), lo, hi, limit=400)[0] / theta_b
        q = integrate.quad(lambda t: g(t) ** 2 * density(t), lo, hi, limit=400)[0] / theta_b
        sign = np.array([1.0, -1.0])
        mean += theta_b * m * sign
        second += theta_b * (m * m + (q - m * m) / samples) * np.ones(2)
    return mean, second - mean * mean


def bernoulli_estimator(name, logit, f, df, lam=0.5, eta=1.0, c=None, dc=None):
    """One Bernoulli's per-sample estimator (w.r.t. the logit) as a function g(u, v) of its uniforms."""
    theta = float(expit(logit))

    def b_of(u):
        return 1.0 if u > 1.0 - theta else 0.0

    def relaxed(u):
        z = logit + math.log(u) - math.log1p(-u)
        s = float(expit(z / lam))
        return z, s, s * (1.0 - s) / lam

    def resample(b, v):
        vp = (1.0 - theta) * v if b == 0.0 else (1.0 - theta) + theta * v
        zt = logit + math.log(vp) - math.log1p(-vp)
        dzt = theta * v / (1.0 - theta + theta * v) if b == 1.0 else (1.0 - theta) * (1.0 - v) / (1.0 - v + theta * v)
        return zt, dzt

    def g(u, v=0.5):
        b = b_of(u)
        if name == "score":
            return f(b) * (b - theta)
        if name in ("arm", "disarm"):
            b2 = 1.0 if u < theta else 0.0
            if name == "arm":
                return (f(b) - f(b2)) * (u - 0.5)
            if b == b2:
                return 0.0
            return 0.5 * (f(b2) - f(b)) * (-1.0) ** b * float(expit(abs(logit)))
        z, s, ds = relaxed(u)
        if name == "gumbel_softmax":
            return df(s) * ds
        if name == "straight_through":
            return df(b) * ds
        zt, dzt = resample(b, v)
        if name == "rebar":
            def cv(w):
                return eta * f(float(expit(w / lam)))

            def dcv(w):
                sw = float(expit(w / lam))
                return eta * df(sw) * sw * (1.0 - sw) / lam
        else:  # relax: the user's control scaled by eta
            def cv(w):
                return eta * c(w)

            def dcv(w):
                return eta * dc(w)
        return (f(b) - cv(zt)) * (b - theta) + dcv(z) - dcv(zt) * dzt

    return g, theta


def bernoulli_moments(name, logit, f, df, **kw):
    """Exact (mean, variance) of a one-Bernoulli estimator by quadrature over its uniforms."""
    g, theta = bernoulli_estimator(name, logit, f, df, **kw)
    points = sorted({1.0 - theta, theta})
    opts = dict(points=points, limit=400, epsabs=1e-12, epsrel=1e-10)
    if name in ("rebar", "relax"):
        def inner(u, power):
            return integrate.quad(lambda v: g(u, v) ** power, 0.0, 1.0, limit=200, epsabs=1e-12, epsrel=1e-10)[0]

        mean = integrate.quad(lambda u: inner(u, 1), 0.0, 1.0, **opts)[0]
        second = integrate.quad(lambda u: inner(u, 2), 0.0, 1.0, **opts)[0]
    else:
        mean = integrate.quad(lambda u: g(u), 0.0, 1.0, **opts)[0]
        second = integrate.quad(lambda u: g(u) ** 2, 0.0, 1.0, **opts)[0]
    return mean, second - mean * mean


def sum_and_sample_moments(logits, f, k):
    """Exact (mean, variance) per flat component of sum-and-sample on D categoricals, by enumeration.

    Liu et al. (2019) on one categorical: grad E f = sum_{c in C} theta_c f(c) grad log theta_c + (1 - theta_C)
    E_{b' ~ theta | not C}[f(b') grad log theta_b'], C the k most probable classes.  With D variables, variable d's
    components take the others' outcomes b_-d ~ theta: g_d = sum_{c in C_d} theta_dc f(c, b_-d) (e_c - theta_d)
    + (1 - theta(C_d)) f(b'_d, b_-d) (e_b'_d - theta_d).  The randomness is (b, b'): every pair is enumerated.
    """
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(log_softmax(logits, axis=1))
    summed = [list(np.argsort(-theta[d], kind="stable")[:k]) for d in range(dim)]
    rest = [[c for c in range(classes) if c not in summed[d]] for d in range(dim)]
    rest_mass = [sum(theta[d, c] for c in rest[d]) for d in range(dim)]

    def f_at(ks):
        x = np.zeros((dim, classes))
        x[np.arange(dim), ks] = 1.0
        return f(x.ravel())

    mean, second = np.zeros(dim * classes), np.zeros(dim * classes)
    for ks in itertools.product(range(classes), repeat=dim):
        p_b = float(np.prod(theta[np.arange(dim), ks]))
        for others in itertools.product(*rest):
            p = p_b * float(np.prod([theta[d, others[d]] / rest_mass[d] for d in range(dim)]))
            g = np.zeros((dim, classes))
            for d in range(dim):
                for c in summed[d]:
                    g[d] += theta[d, c] * f_at(ks[:d] + (c,) + ks[d + 1:]) * (np.eye(classes)[c] - theta[d])
                c = others[d]
                g[d] += rest_mass[d] * f_at(ks[:d] + (c,) + ks[d + 1:]) * (np.eye(classes)[c] - theta[d])
            mean += p * g.ravel()
            second += p * g.ravel() ** 2
    return mean, second - mean * mean


def gapped_moments(logits, df, temperature, gap):
    """Exact (mean, variance) per flat component of gapped straight-through on D categoricals, by enumeration.

    Fan et al. (2022), as in the authors' code: with the outcome D ~ softmax(l) (one-hot, class i) and a = argmax l,
    move = (l_a - l) D lifts the outcome's logit to the largest, move2 = max(0, l - l_a + gap) (0 at i) pushes the
    other logits to at least ``gap`` below it, z = l + stop_gradient(move - move2), and the gradient flows through
    softmax(z / temperature) to the straight-through output: g = J ∇f(D) / temperature, J = diag(s) - s s^T.
    """
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(log_softmax(logits, axis=1))
    mean, second = np.zeros(dim * classes), np.zeros(dim * classes)
    for ks in itertools.product(range(classes), repeat=dim):
        onehot = np.zeros((dim, classes))
        onehot[np.arange(dim), ks] = 1.0
        p = float(np.prod(theta[np.arange(dim), ks]))
        v = np.reshape(df(onehot.ravel()), (dim, classes))
        g = np.empty((dim, classes))
        for d in range(dim):
            top = logits[d].max()
            move = (top - logits[d]) * onehot[d]
            move2 = np.maximum(logits[d] - top + gap, 0.0)
            move2[ks[d]] = 0.0
            s = np.exp(log_softmax((logits[d] + move - move2) / temperature))
            g[d] = (np.diag(s) - np.outer(s, s)) @ v[d] / temperature
        mean += p * g.ravel()
        second += p * g.ravel() ** 2
    return mean, second - mean * mean


def _ordered_probability(theta, sequence, removed=()):
    """Probability that draws without replacement from theta with the classes ``removed`` taken out give
    ``sequence`` in order."""
    left = 1.0 - sum(theta[c] for c in removed)
    p = 1.0
    for c in sequence:
        p *= theta[c] / left
        left -= theta[c]
    return p


def _set_probability(theta, members, removed=()):
    """Probability of the unordered set ``members`` from draws without replacement: a sum over its orderings."""
    return sum(_ordered_probability(theta, order, removed) for order in itertools.permutations(members))


def unordered_set_moments(logits, f, samples):
    """Exact (mean, variance) per component of the unordered set estimator with its built-in baseline (Kool, van
    Hoof and Welling 2020) on one categorical, by enumerating every ordered sample without replacement.

    g(S) = sum_{s in S} p(s) R(S, s) (f(s) - b(S, s)) (e_s - theta), R(S, s) = p^{D-s}(S - s) / p(S),
    b(S, s) = sum_{s' in S} p(s') R^{D-s}(S, s') f(s') with R^{D-s}(S, s') = p^{D-s-s'}(S - s - s') / p^{D-s}(S - s)
    (1 for s' = s); set probabilities are sums over orderings (``_set_probability``).
    """
    logits = np.asarray(logits, float)
    theta = np.exp(log_softmax(logits))
    classes = theta.size
    values = [f(np.eye(classes)[c]) for c in range(classes)]
    mean, second = np.zeros(classes), np.zeros(classes)
    for sequence in itertools.permutations(range(classes), samples):
        p_seq = _ordered_probability(theta, sequence)
        members = set(sequence)
        whole = _set_probability(theta, members)
        g = np.zeros(classes)
        for s in members:
            rest = members - {s}
            leave_one = _set_probability(theta, rest, (s,))
            baseline = sum(theta[t] * values[t] * (1.0 if t == s else
                                                   _set_probability(theta, rest - {t}, (s, t)) / leave_one)
                           for t in members)
            g += theta[s] * leave_one / whole * (values[s] - baseline) * (np.eye(classes)[s] - theta)
        mean += p_seq * g
        second += p_seq * g * g
    return mean, second - mean * mean


def _copula_patterns(theta, samples):
    """Law of (b_1..b_n) of one coordinate under the Dirichlet copula: b_i = [u_i > 1 - theta] with
    u_i = 1 - (1 - w_i)^(n-1), w uniform on the simplex, i.e. b_i = [w_i > s], s = 1 - theta^(1/(n-1)).
    P(w_i > s for i in S, w_j <= s otherwise) by inclusion-exclusion over P(w_i > s for i in A) =
    (1 - |A| s)_+^(n-1).  Returns {pattern: probability}."""
    n = samples
    s = 1.0 - theta ** (1.0 / (n - 1))
    law = {}
    for bits in itertools.product((0, 1), repeat=n):
        ones = sum(bits)
        zeros = n - ones
        law[bits] = sum((-1) ** extra * math.comb(zeros, extra) * max(0.0, 1.0 - (ones + extra) * s) ** (n - 1)
                        for extra in range(zeros + 1))
    return law


def arms_moments(logits, f, samples):
    """Exact mean and variance of ARMS (Dimitriev & Zhou 2021) on D Bernoullis by enumerating every coordinate's
    n outcomes under the copula: g_d = sum_i (f(b_i) - mean_j f(b_j)) (b_id - theta_d) / ((n - 1)(1 - rho_d)),
    rho_d the correlation of two of coordinate d's outcomes, computed here from the pattern law."""
    logits = np.atleast_1d(np.asarray(logits, float))
    theta = expit(logits)
    laws = [_copula_patterns(t, samples) for t in theta]
    rho = []
    for t, law in zip(theta, laws, strict=True):
        assert abs(sum(law.values()) - 1.0) < 1e-12
        assert abs(sum(p for bits, p in law.items() if bits[0]) - t) < 1e-12  # uniform marginals
        both = sum(p for bits, p in law.items() if bits[0] and bits[1])
        rho.append((both - t * t) / (t * (1.0 - t)))
    rho = np.array(rho)
    mean, second = np.zeros(logits.size), np.zeros(logits.size)
    for patterns in itertools.product(*[list(law) for law in laws]):
        p = math.prod(law[bits] for law, bits in zip(laws, patterns, strict=True))
        if p == 0.0:
            continue
        b = np.array(patterns, float).T  # (n, D): draw i's outcome vector in row i
        values = np.array([f(row) for row in b])
        g = ((values - values.mean())[:, None] * (b - theta)).sum(axis=0) / ((samples - 1) * (1.0 - rho))
        mean += p * g
        second += p * g * g
    return mean, second - mean * mean


def _carms_orders(classes):
    """CARMS's orders of the classes: for each pair a < b, a first, b last, the others ascending between."""
    return [[a, *[k for k in range(classes) if k not in (a, b)], b]
            for a in range(classes) for b in range(a + 1, classes)]


def _carms_patterns(theta, samples):
    """Law of one variable's n classes under CARMS's sampling, in 50-digit arithmetic: an order drawn uniformly,
    then u_i = 1 - (1 - w_i)^(n-1) (w uniform on the simplex) by the inverse CDF along it.  A class's u-interval
    (L, R] is the w-interval (s(L), s(R)], s(R) = 1 - (1 - R)^(1/(n-1)), and the probability of a box of
    w-intervals comes by inclusion-exclusion from P(w_i > c_i for all i) = (1 - sum c_i)_+^(n-1)."""
    mpmath.mp.dps = 50
    n = samples
    theta = [mpmath.mpf(float(t)) for t in theta]
    orders = _carms_orders(len(theta))
    law = {}
    for order in orders:
        bounds, cumulative = {}, mpmath.mpf(0)
        for k in order:
            low = cumulative
            cumulative += theta[k]
            high = mpmath.mpf(1) if k == order[-1] else cumulative
            bounds[k] = (1 - (1 - low) ** (mpmath.mpf(1) / (n - 1)), 1 - (1 - high) ** (mpmath.mpf(1) / (n - 1)))
        for pattern in itertools.product(range(len(theta)), repeat=n):
            total = mpmath.mpf(0)
            for upper in itertools.product((0, 1), repeat=n):
                edge = sum(bounds[k][side] for k, side in zip(pattern, upper, strict=True))
                total += (-1) ** sum(upper) * max(mpmath.mpf(0), 1 - edge) ** (n - 1)
            law[pattern] = law.get(pattern, 0) + total / len(orders)
    return law


def carms_moments(logits, f, samples):
    """Exact mean and variance of CARMS (Dimitriev & Zhou 2021) on D categoricals by enumerating every variable's
    n classes under its sampling law: g_d = sum_i sum_{j != i} r_d(b_i, b_j) (f_i - f_j) (e_{b_i} - theta_d) /
    (n (n - 1)), r_d(k, c) = theta_k theta_c / P(k, c) with the pair law P taken from the n-draw law here."""
    logits = np.atleast_2d(np.asarray(logits, float))
    dim, classes = logits.shape
    theta = np.exp(log_softmax(logits, axis=1))
    laws = [_carms_patterns(t, samples) for t in theta]
    weights = []
    for d, law in enumerate(laws):
        assert abs(float(sum(law.values())) - 1.0) < 1e-30
        pair = np.zeros((classes, classes))
        for pattern, prob in law.items():
            pair[pattern[0], pattern[1]] += float(prob)
        for k in range(classes):  # the marginal of one draw is theta
            assert abs(sum(float(p) for pattern, p in law.items() if pattern[0] == k) - theta[d, k]) < 1e-14
        with np.errstate(divide="ignore", invalid="ignore"):
            weights.append(np.where(np.eye(classes) == 1, 0.0, np.outer(theta[d], theta[d]) / pair))
    mean, second = np.zeros(dim * classes), np.zeros(dim * classes)
    for patterns in itertools.product(*[list(law) for law in laws]):
        p = math.prod(float(law[pattern]) for law, pattern in zip(laws, patterns, strict=True))
        if p == 0.0:
            continue
        onehots = np.zeros((samples, dim, classes))
        for d, pattern in enumerate(patterns):
            onehots[np.arange(samples), d, list(pattern)] = 1.0
        values = np.array([f(o.ravel()) for o in onehots])
        g = np.zeros((dim, classes))
        for d, pattern in enumerate(patterns):
            for i in range(samples):
                weight = sum(weights[d][pattern[i], pattern[j]] * (values[i] - values[j])
                             for j in range(samples) if j != i)
                g[d] += weight * (np.eye(classes)[pattern[i]] - theta[d]) / (samples * (samples - 1))
        mean += p * g.ravel()
        second += p * g.ravel() ** 2
    return mean, second - mean * mean
