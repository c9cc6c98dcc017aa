"""NumPy-vectorised, chunked implementations of the same work as the Normal kernels.

Each draws the same kinds of variates with numpy.random, computes the per-sample gradients with
array formulas and accumulates the same shifted power sums (orders 1-4) chunk by chunk, so the
comparison is like for like: memory stays O(chunk) and the output is a mean and variance.
"""

import numpy as np

CHUNK = 1 << 20


def _objective(name, p, x):
    if name == "square":
        return x * x + p, 2 * x
    if name == "cos":
        return np.cos(p * x), -p * np.sin(p * x)
    raise ValueError(name)


def _accumulate(acc, shift, g):
    d = g - shift[:, None]
    d2 = d * d
    acc[:, 0] += d.sum(axis=1)
    acc[:, 1] += d2.sum(axis=1)
    acc[:, 2] += (d2 * d).sum(axis=1)
    acc[:, 3] += (d2 * d2).sum(axis=1)


def normal_estimator(estimator, mu, sigma, objective, p, n, seed=0, transform=1):
    """Mean and variance of a D = 1 Normal estimator, vectorised in chunks."""
    gen = np.random.default_rng(seed)
    acc = np.zeros((2, 4))
    shift = None
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        if estimator == "measure_valued":
            w = np.sqrt(-2.0 * np.log1p(-gen.random(m)))
            fp, _ = _objective(objective, p, mu + sigma * w)
            fm, _ = _objective(objective, p, mu - sigma * w)
            z = gen.standard_normal(m)
            maxwell = np.copysign(np.sqrt(z * z - 2.0 * np.log1p(-gen.random(m))), z)
            u = gen.random(m)
            fmx, _ = _objective(objective, p, mu + sigma * maxwell)
            fn, _ = _objective(objective, p, mu + sigma * u * maxwell)
            g = np.stack([(fp - fm) / (sigma * np.sqrt(2 * np.pi)), (fmx - fn) / sigma])
        else:
            e = gen.standard_normal(m)
            fx, dfx = _objective(objective, p, mu + sigma * e)
            if estimator == "score":
                g = np.stack([fx * e / sigma, fx * (e * e - 1) / sigma])
            elif estimator == "pathwise":
                g = np.stack([dfx, dfx * e])
            elif transform == 1:
                g = np.stack([dfx, fx * (e * e - 1) / sigma])
            else:
                g = np.stack([dfx * (1 - sigma) + fx * e, dfx * e])
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    mean = shift + acc[:, 0] / n
    var = (acc[:, 1] - acc[:, 0] ** 2 / n) / (n - 1)
    return mean, var


def normal_stream(n, seed=0):
    """Sum of n standard normals drawn in chunks (the raw draw rate)."""
    gen = np.random.default_rng(seed)
    total = 0.0
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        total += gen.standard_normal(m).sum()
        done += m
    return total
