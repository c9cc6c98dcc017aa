"""NumPy-vectorised, chunked implementations of the same work as the Bernoulli and Categorical kernels.

Same variates (uniforms, Gumbels, exponentials), the same per-sample formulas as array expressions,
and the same shifted power sums (orders 1-4) per chunk: memory O(chunk), output mean and variance.
The objective is the toy f(x) = sum (x - t)^2; relax uses c(z) = 0.3 z^2 - 0.1 z.
"""

import numpy as np
from numpy_baselines import CHUNK, _accumulate
from scipy.special import expit


def _finish(acc, n):
    mean = acc[:, 0] / n
    return mean, (acc[:, 1] - n * mean * mean) / (n - 1)


def gumbel_max_samples(log_theta, n, seed=0):
    """Sum of Gumbel-max class indices argmax(log theta + G) over n draws."""
    gen = np.random.default_rng(seed)
    total, done = 0, 0
    while done < n:
        m = min(CHUNK // 4, n - done)
        total += int((log_theta + gen.gumbel(size=(m, log_theta.size))).argmax(axis=1).sum())
        done += m
    return total


def _sigmoid_pair(x):
    s = expit(x)
    return s, s * expit(-x)


def bernoulli_estimator(name, logit, t, n, lam=0.5, eta=1.0, seed=0, samples=4):
    """Mean and variance of a one-Bernoulli estimator on the toy, vectorised in chunks (arms: ``samples``
    antithetic draws)."""
    gen = np.random.default_rng(seed)
    theta, theta_bar = expit(logit), expit(-logit)
    acc, shift, done = np.zeros((1, 4)), None, 0
    threshold = -np.expm1(np.log(theta) / (samples - 1))  # arms: b_i = [w_i > s] on the simplex
    p10 = theta * -np.expm1((samples - 1) * np.log1p(-threshold / (1 - threshold))) if threshold < 0.5 else theta
    while done < n:
        m = min(CHUNK, n - done)
        if name == "arms":
            e = gen.standard_exponential((m, samples))
            b = e > threshold * e.sum(axis=1, keepdims=True)
            fb = (b - t) ** 2
            g = theta * theta_bar / ((samples - 1) * p10) * ((fb - fb.mean(axis=1, keepdims=True)) * b).sum(axis=1)
            g = g[None, :]
            if shift is None:
                shift = g[:, 0].copy()
            _accumulate(acc, shift, g)
            done += m
            continue
        u = gen.random(m)
        b = u > theta_bar
        fb = (b - t) ** 2
        score = np.where(b, theta_bar, -theta)
        if name == "score":
            g = fb * score
        elif name in ("arm", "disarm"):
            b2 = u < theta
            fb2 = (b2 - t) ** 2
            if name == "arm":
                g = (fb - fb2) * (u - 0.5)
            else:
                g = np.where(b == b2, 0.0, 0.5 * (fb2 - fb) * expit(abs(logit)) * np.where(b, -1.0, 1.0))
        else:
            z = logit + np.log(u / (1.0 - u))
            soft, dsoft = _sigmoid_pair(z / lam)
            if name == "gumbel_softmax":
                g = 2 * (soft - t) * dsoft / lam
            elif name == "straight_through":
                g = 2 * (b - t) * dsoft / lam
            else:
                v = gen.random(m)
                vp = np.where(b, theta_bar + theta * v, theta_bar * v)
                q = np.where(b, theta * (1 - v), theta + theta_bar * (1 - v))
                zt = logit + np.log(vp / q)
                dzt = np.where(b, theta * v / vp, theta_bar * (1 - v) / q)
                if name == "rebar":
                    dc = eta * 2 * (soft - t) * dsoft / lam
                    st, dst = _sigmoid_pair(zt / lam)
                    ct = eta * (st - t) ** 2
                    dct = eta * 2 * (st - t) * dst / lam
                else:
                    dc = 0.6 * z - 0.1
                    ct = 0.3 * zt * zt - 0.1 * zt
                    dct = 0.6 * zt - 0.1
                g = (fb - ct) * score + dc - dct * dzt
        g = g[None, :]
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    mean, var = _finish(acc, n)
    return mean + shift, var


def _softmax(z, lam):
    w = np.exp((z - z.max(axis=1, keepdims=True)) / lam)
    return w / w.sum(axis=1, keepdims=True)


def _softmax_backward(soft, upstream, lam):
    return soft * (upstream - np.sum(upstream * soft, axis=1, keepdims=True)) / lam


def _conditional_gumbels(gen, theta, b, onehot):
    """Perturbed logits given argmax = b: z~_b = -log e_b, z~_k = -log(e_k / theta_k + e_b), e ~ Exp(1)."""
    m = b.shape[0]
    e = gen.exponential(size=(m, theta.size))
    e_b = e[np.arange(m), b][:, None]
    w = e / theta + e_b
    return np.where(onehot > 0, -np.log(e_b), -np.log(w)), e_b, w, e


def _unordered_set(theta, order, fvals):
    """The unordered set estimator with its baseline (Kool et al. 2020) for samples ``order`` (m, s) without
    replacement with f values ``fvals`` (m, s): set probabilities by dynamic programming over subsets, vectorised
    over the samples."""
    m, size = order.shape
    q = theta[order]
    member = np.zeros((m, theta.size), bool)
    np.put_along_axis(member, order, True, axis=1)
    outside = np.where(member, 0.0, theta).sum(axis=1)
    full = (1 << size) - 1
    bits = (np.arange(full + 1)[:, None] >> np.arange(size)) & 1
    mass = q @ bits.T

    def probability(excluded):
        table = np.zeros((m, full + 1))
        table[:, 0] = 1.0
        for u in range(1, full + 1):
            if u & excluded:
                continue
            for i in range(size):
                if u & (1 << i):
                    before = u ^ (1 << i)
                    table[:, u] += table[:, before] * q[:, i] / (outside + mass[:, full ^ (excluded | before)])
        return table[:, full ^ excluded]

    whole = probability(0)
    leave_one = [probability(1 << i) for i in range(size)]
    pairs = {(i, h): probability((1 << i) | (1 << h)) for i in range(size) for h in range(i)}
    weights = np.empty((m, size))
    for i in range(size):
        baseline = q[:, i] * fvals[:, i]
        for h in range(size):
            if h != i:
                baseline += q[:, h] * fvals[:, h] * pairs[max(i, h), min(i, h)] / leave_one[i]
        weights[:, i] = q[:, i] * leave_one[i] / whole * (fvals[:, i] - baseline)
    g = -theta[None, :] * weights.sum(axis=1, keepdims=True)
    np.add.at(g, (np.arange(m)[:, None], order), weights)
    return g


def _carms_tables(logits, samples):
    """CARMS's per-run setup (not per-sample work): theta, the orders' w-thresholds and the pair weights."""
    from mcgrad.kernels import carms

    k = logits.size
    row = carms.carms_setup(np.ascontiguousarray(logits[None, :], dtype=float), np.array([float(samples)]))[0]
    pairs = k * (k - 1) // 2
    return (row[:k], row[k:k + pairs * k].reshape(pairs, k), row[k + pairs * k:].reshape(k, k),
            carms.pair_orders(k))


def _carms(gen, tables, m, samples, t):
    """m CARMS samples of one categorical, f(x) = sum (x - t)^2."""
    theta, thresholds, ratio, orders = tables
    k = theta.size
    perm = np.minimum((gen.random(m) * len(orders)).astype(np.int64), len(orders) - 1)
    e = gen.standard_exponential((m, samples))
    w = e / e.sum(axis=1, keepdims=True)
    position = (w[:, :, None] > thresholds[perm][:, None, :]).sum(axis=2)
    b = orders[perm[:, None], position]  # (m, n) classes
    fvals = np.sum((np.eye(k)[b] - t) ** 2, axis=2)
    weights = (ratio[b[:, :, None], b[:, None, :]] * (fvals[:, :, None] - fvals[:, None, :])).sum(axis=2)
    weights /= samples * (samples - 1)
    g = -theta[None, :] * weights.sum(axis=1, keepdims=True)
    np.add.at(g, (np.arange(m)[:, None], b), weights)
    return g


def categorical_estimator(name, logits, t, n, lam=0.5, eta=1.0, seed=0, samples=10, gap=1.0, summed=1):
    """Mean and variance of a K-class Categorical estimator on f(x) = sum_k (x_k - t)^2, in chunks (``lam`` is
    reinmax's and gapped straight-through's temperature too; ``summed`` is sum-and-sample's k)."""
    gen = np.random.default_rng(seed)
    k = logits.size
    log_theta = logits - np.logaddexp.reduce(logits)
    theta = np.exp(log_theta)
    cdf = np.cumsum(theta)
    acc, shift, done = np.zeros((k, 4)), None, 0
    eye = np.eye(k)
    order = np.argsort(-theta, kind="stable")  # sum-and-sample: the summed classes, then the rest's CDF
    rest_cdf = np.cumsum(theta[order[summed:]])
    carms_tables = _carms_tables(logits, samples) if name == "carms" else None
    while done < n:
        m = min(CHUNK // 8, n - done)
        if name == "sum_and_sample":
            other = order[summed:][np.minimum(np.searchsorted(rest_cdf, gen.random(m) * rest_cdf[-1], side="right"),
                                              k - summed - 1)]
            g = np.zeros((m, k))
            for c, weight in [(c, theta[c]) for c in order[:summed]] + [(other, rest_cdf[-1])]:
                x = eye[c] * np.ones((m, 1))
                g += weight * np.sum((x - t) ** 2, axis=1, keepdims=True) * (x - theta)
            g = g.T
            if shift is None:
                shift = g[:, 0].copy()
            _accumulate(acc, shift, g)
            done += m
            continue
        if name == "carms":  # samples = n antithetic draws; the pair weights and order thresholds as mcgrad's setup
            g = _carms(gen, carms_tables, m, samples, t).T
            if shift is None:
                shift = g[:, 0].copy()
            _accumulate(acc, shift, g)
            done += m
            continue
        if name == "unordered_set":  # samples = the size of the set
            z = log_theta + gen.gumbel(size=(m, k))
            order = np.argsort(-z, axis=1, kind="stable")[:, :samples]
            fvals = np.sum((eye[order] - t) ** 2, axis=2)
            g = _unordered_set(theta, order, fvals).T
            if shift is None:
                shift = g[:, 0].copy()
            _accumulate(acc, shift, g)
            done += m
            continue
        if name in ("score", "reinmax", "gumbel_rao", "gapped_straight_through"):
            b = np.minimum(np.searchsorted(cdf, gen.random(m) * cdf[-1], side="right"), k - 1)
        else:
            z = log_theta + gen.gumbel(size=(m, k))
            b = z.argmax(axis=1)
            soft = _softmax(z, lam)
        onehot = eye[b]
        fb = np.sum((onehot - t) ** 2, axis=1, keepdims=True)
        if name == "gumbel_softmax":
            g = _softmax_backward(soft, 2 * (soft - t), lam)
        elif name == "straight_through":
            g = _softmax_backward(soft, 2 * (onehot - t), lam)
        elif name == "score":
            g = fb * (onehot - theta)
        elif name == "gumbel_rao":
            upstream = 2 * (onehot - t)
            g = np.zeros((m, k))
            for _ in range(samples):
                zt = _conditional_gumbels(gen, theta, b, onehot)[0]
                g += _softmax_backward(_softmax(zt, lam), upstream, lam)
            g /= samples
        elif name == "gapped_straight_through":
            top = log_theta.max()
            z = np.where(onehot > 0, top, np.minimum(log_theta, top - gap))
            g = _softmax_backward(_softmax(z, lam), 2 * (onehot - t), lam)
        elif name == "reinmax":
            pi1 = (onehot + _softmax(logits[None, :], lam)) / 2
            upstream = 2 * (onehot - t)
            g = 2 * _softmax_backward(pi1, upstream, 1.0) - 0.5 * _softmax_backward(theta[None, :], upstream, 1.0)
        else:  # rebar
            zt, e_b, w, e = _conditional_gumbels(gen, theta, b, onehot)
            r = np.where(onehot > 0, 0.0, (e / theta) / w)
            dcz = eta * _softmax_backward(soft, 2 * (soft - t), lam)
            st = _softmax(zt, lam)
            ct = eta * np.sum((st - t) ** 2, axis=1, keepdims=True)
            dct = eta * _softmax_backward(st, 2 * (st - t), lam)
            g = ((fb - ct) * (onehot - theta) + dcz - theta * dcz.sum(axis=1, keepdims=True)
                 - dct * r + theta * np.sum(dct * r, axis=1, keepdims=True))
        g = g.T
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    mean, var = _finish(acc, n)
    return mean + shift, var
