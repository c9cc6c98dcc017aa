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


def multivariate_normal_estimator(estimator, loc, tril, objective, p, n, seed=0):
    """Mean and variance of a MultivariateNormal estimator (components loc, then L's lower entries row by row) on
    f = sum_i t(x_i), x = loc + L eps, vectorised in chunks of samples."""
    gen = np.random.default_rng(seed)
    dim = loc.size
    rows, cols = np.tril_indices(dim)
    inv = np.linalg.inv(tril)
    acc = np.zeros((dim + rows.size, 4))
    shift = None
    done = 0
    while done < n:
        m = min(CHUNK // dim, n - done)
        eps = gen.standard_normal((dim, m))
        terms, grad = _objective(objective, p, loc[:, None] + tril @ eps)
        if estimator == "pathwise":
            g = np.concatenate([grad, grad[rows] * eps[cols]])
        else:
            f = terms.sum(axis=0)
            w = inv.T @ eps
            g = f * np.concatenate([w, w[rows] * eps[cols] - (rows == cols)[:, None] / np.diag(tril)[rows, None]])
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


def gamma_estimator(estimator, alpha, n, objective="square", boost=1, seed=0):
    """Mean and variance of a D = 1 Gamma(alpha, 1) estimator, vectorised in chunks with NumPy's own
    Gamma sampler (``Generator.standard_gamma``) and scipy.special for digamma and the incomplete gamma."""
    from scipy import special

    gen = np.random.default_rng(seed)
    a_b = alpha + boost
    d = a_b - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    psi_b, psi = special.digamma(a_b), special.digamma(alpha)
    psi1, psi2 = special.polygamma(1, alpha), special.polygamma(2, alpha)
    acc = np.zeros((2, 4))
    shift = None
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        h = gen.standard_gamma(a_b, m)
        log_u = np.log1p(-gen.random((boost, m)))
        w = 1.0 / (alpha + np.arange(boost))[:, None]
        z = h * np.exp((log_u * w).sum(axis=0))
        fx, dfx = _objective(objective, 0.0, z)
        if estimator in ("rsvi", "rsvi_rep_only"):
            e = np.sqrt(9.0 * a_b - 3.0) * (np.cbrt(h / d) - 1.0)
            v = 1.0 + c * e
            h_a = v * v * (1.0 - 0.5 * c * e)
            dz = z * (h_a / h - (log_u * w * w).sum(axis=0))
            ga = dfx * dz
            if estimator == "rsvi":
                ga = ga + fx * (np.log(h) + (a_b - 1) * h_a / h - h_a - psi_b + 0.5 / d - 9 * e * c**3 / v)
        elif estimator == "implicit":
            step = 1e-6 * max(1.0, alpha)
            dp = (special.gammainc(alpha + step, z) - special.gammainc(alpha - step, z)) / (2 * step)
            density = np.exp((alpha - 1) * np.log(z) - z - special.gammaln(alpha))
            ga = -dfx * dp / density
        elif estimator == "grep":
            lz = np.log(z)
            eps = (lz - psi) / np.sqrt(psi1)
            t = eps * psi2 / (2 * np.sqrt(psi1))
            h_a = z * (t + psi1)
            ga = dfx * h_a + fx * (((alpha - 1) / z - 1.0) * h_a + (lz - psi) + t + psi1 + psi2 / (2 * psi1))
        else:
            ga = fx * (np.log(z) - psi)
        gb = fx * (alpha - z) if estimator == "score" else -dfx * z
        g = np.stack([ga, gb])
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    return shift + acc[:, 0] / n, (acc[:, 1] - acc[:, 0] ** 2 / n) / (n - 1)


def gamma_samples(alpha, n, seed=0):
    """Sum of n Gamma(alpha, 1) draws from NumPy's sampler, in chunks."""
    gen = np.random.default_rng(seed)
    total, done = 0.0, 0
    while done < n:
        m = min(CHUNK, n - done)
        total += gen.standard_gamma(alpha, m).sum()
        done += m
    return total


def student_t_estimator(estimator, nu, mu, sigma, n, seed=0):
    """Mean and variance of a D = 1 StudentT(nu, mu, sigma) estimator on f = x^2, vectorised in chunks: the
    mixture x = mu + sigma eps sqrt(nu / (2 gamma)) from NumPy's Gamma and normal samplers, the implicit
    dgamma/da from scipy's incomplete gamma by central differences (NumPy has no implicit gradient)."""
    from scipy import special

    gen = np.random.default_rng(seed)
    a = 0.5 * nu
    score_df = special.digamma(0.5 * (nu + 1)) - special.digamma(a) - 1.0 / nu
    acc = np.zeros((3, 4))
    shift = None
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        gamma = gen.standard_gamma(a, m)
        y = gen.standard_normal(m) * np.sqrt(nu / (2.0 * gamma))
        x = mu + sigma * y
        fx, dfx = x * x, 2.0 * x
        if estimator == "score":
            r2 = y * y
            ratio = (nu + 1.0) / (nu + r2)
            g = np.stack([0.5 * fx * (score_df - np.log1p(r2 / nu) + ratio * r2 / nu), fx * ratio * y / sigma,
                          fx * (ratio * r2 - 1.0) / sigma])
        else:
            step = 1e-6 * max(1.0, a)
            dp = (special.gammainc(a + step, gamma) - special.gammainc(a - step, gamma)) / (2 * step)
            density = np.exp((a - 1) * np.log(gamma) - gamma - special.gammaln(a))
            dlog_gamma = -dp / (density * gamma)
            g = np.stack([dfx * sigma * y * (0.5 / nu - 0.25 * dlog_gamma), dfx, dfx * y])
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    return shift + acc[:, 0] / n, (acc[:, 1] - acc[:, 0] ** 2 / n) / (n - 1)


def von_mises_estimator(estimator, loc, kappa, n, k=2.0, seed=0):
    """Mean and variance of a D = 1 VonMises(loc, kappa) estimator on f = cos(k x), vectorised in chunks with
    NumPy's von Mises sampler; implicit's dz/dkappa = -(dF/dkappa) / q from scipy's CDF by central differences
    (NumPy has no implicit gradient)."""
    from scipy import special, stats

    gen = np.random.default_rng(seed)
    a = special.i1e(kappa) / special.i0e(kappa)
    acc = np.zeros((2, 4))
    shift = None
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        z = gen.vonmises(0.0, kappa, m)
        x = loc + z
        if estimator == "score":
            fx = np.cos(k * x)
            g = np.stack([fx * kappa * np.sin(z), fx * (np.cos(z) - a)])
        else:
            dfx = -k * np.sin(k * x)
            step = 1e-6 * kappa
            dcdf = (stats.vonmises.cdf(z, kappa + step) - stats.vonmises.cdf(z, kappa - step)) / (2 * step)
            g = np.stack([dfx, -dfx * dcdf / stats.vonmises.pdf(z, kappa)])
        if shift is None:
            shift = g[:, 0].copy()
        _accumulate(acc, shift, g)
        done += m
    return shift + acc[:, 0] / n, (acc[:, 1] - acc[:, 0] ** 2 / n) / (n - 1)
