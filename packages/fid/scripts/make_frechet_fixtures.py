"""Fixtures for the Fréchet distance tests, computed with NumPy and SciPy in float64.

For each case: two Gaussian statistics (mu, sigma) from random features, and the distance
computed two independent ways:
  fid_scipy  -- as pytorch-fid does: trace of scipy.linalg.sqrtm(sigma1 @ sigma2)
  fid_eigh   -- with numpy.linalg.eigh: tr sqrt(S1^1/2 S2 S1^1/2), eigenvalues clamped at 0
Also sqrt_sigma1 = the PSD square root of sigma1 (eigh) for the square-root test.

    python3 scripts/make_frechet_fixtures.py   (writes test/fixtures/frechet.json)
"""
import json
import os

import numpy as np
from scipy import linalg


def stats(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


def fid_scipy(mu1, s1, mu2, s2, eps=1e-6):
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def psd_sqrt(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def fid_eigh(mu1, s1, mu2, s2):
    r = psd_sqrt(s1)
    m = r @ s2 @ r
    w = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(w, 0, None)).sum())


def case(name, rng, d, n1, n2, shift, keep_features=False):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    f1 = rng.standard_normal((n1, d)) @ mix + 3.0
    f2 = rng.standard_normal((n2, d)) @ (mix + 0.3 * rng.standard_normal((d, d)) / np.sqrt(d)) + 3.0 + shift
    mu1, s1 = stats(f1)
    mu2, s2 = stats(f2)
    return {
        "name": name,
        "d": d,
        "features1": f1.ravel().tolist() if keep_features else None,
        "n1": n1,
        "mu1": mu1.tolist(),
        "sigma1": s1.ravel().tolist(),
        "mu2": mu2.tolist(),
        "sigma2": s2.ravel().tolist(),
        "sqrt_sigma1": psd_sqrt(s1).ravel().tolist(),
        "fid_scipy": fid_scipy(mu1, s1, mu2, s2),
        "fid_eigh": fid_eigh(mu1, s1, mu2, s2),
    }


def main():
    rng = np.random.default_rng(20251021)
    cases = [
        case("full rank d=16", rng, 16, 400, 300, 0.5, keep_features=True),
        case("full rank d=64", rng, 64, 500, 700, 0.1),
        case("rank deficient: 40 samples, d=64", rng, 64, 40, 500, 0.2),
        case("identical distributions d=32", rng, 32, 2000, 2000, 0.0),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "frechet.json")
    with open(out, "w") as f:
        json.dump({"numpy": np.__version__, "scipy": __import__("scipy").__version__, "cases": cases}, f)
    for c in cases:
        print(c["name"], c["fid_scipy"], c["fid_eigh"])


if __name__ == "__main__":
    main()
