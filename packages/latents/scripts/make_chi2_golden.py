#!/usr/bin/env python3
"""Golden values for packages/latents/test/chi2.test.ts and gchi2.test.ts.

Writes test/golden/chi2_quantiles.json. Needs python3 and mpmath (made with 1.3.0).
Run from anywhere:  python3 packages/latents/scripts/make_chi2_golden.py  (about 12 min,
almost all of it in the Imhof integrals).

Every probability p is taken to be the exact binary64 value the tests pass
(mpf(float(p))), so 1 - 1e-10 means the double nearest to it, not the real
number; the two differ in the 8th digit of 1 - p.

Sections
  log_gamma        ln Γ(x) at 50 digits.
  gamma_inc        regularized P(a, x) and Q(a, x) at 50 digits, a up to 1e7.
  chi2_quantiles   x with P(df/2, x/2) = p, solved by secant steps in ln x
                   at dps = 50 and checked against Q(df/2, x/2) = 1 − p.
  gchi2_conv       Q = 0.7·χ²₂ + 2.3·χ²₄, 0.5·χ²₁ + 3·χ²₁, 0.01·χ²₃ + 50·χ²₁: CDF and
                   quantiles from the convolution integral
                   F(x) = ∫₀ˣ f_A(y) F_B(x − y) dy (one gamma density against
                   the other's CDF), at dps = 50. The Imhof code below is
                   checked against this convolution for 0.7·χ²₂₀ + 2.3·χ²₄₀.
  gchi2_imhof      Imhof (1961): P(Q > x) = ½ + (1/π) ∫₀^∞ sin θ(u) / (u ρ(u)) du,
                   θ(u) = ½ Σ nⱼ atan(λⱼu) − ½xu, ρ(u) = Π (1 + λⱼ²u²)^{nⱼ/4},
                   evaluated with mpmath.quad at dps = 40 (the cancellation in
                   ½ − I costs at most 10 digits at p = 1e-10). Quantiles by a
                   secant search on ln(tail) in ln x.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import mpmath
from mpmath import mp

OUT = Path(__file__).resolve().parent.parent / "test" / "golden" / "chi2_quantiles.json"
SIG = 30  # significant digits written for each value

DFS = [1, 2, 3, 10, 100, 3072, 6144, 30720, 307200, 3072000]
PS = [1e-10, 0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 1 - 1e-10]


def s(v: mp.mpf) -> str:
    return mp.nstr(v, SIG, min_fixed=-5, max_fixed=30, strip_zeros=False)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- chi-square

def normal_quantile(p: float) -> float:
    """Rough start for the root finders (Abramowitz & Stegun 26.2.23)."""
    q = p if p < 0.5 else 1 - p
    t = math.sqrt(-2 * math.log(q))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t ** 3)
    return -z if p < 0.5 else z


def chi2_guess(p: float, df: float) -> float:
    h = 2 / (9 * df)
    wh = df * max(1 - h + normal_quantile(p) * math.sqrt(h), 1e-3) ** 3
    a = df / 2
    small = 2 * math.exp((math.log(p) + math.lgamma(a + 1)) / a)  # P(a, y) <= y^a / Γ(a+1)
    return max(wh, small) if p < 0.5 else wh


def gamma_p(a, x) -> mp.mpf:
    """Regularized lower incomplete gamma P(a, x)."""
    a, x = mp.mpf(a), mp.mpf(x)
    try:
        return mp.gammainc(a, 0, x, regularized=True)
    except mpmath.libmp.NoConvergence:
        # mpmath's default term cap is too small near x ~ a for a >~ 1e6; same
        # Kummer series, P = xᵃe⁻ˣ/Γ(a+1) · ₁F₁(1; a+1; x), with a larger cap.
        with mp.workdps(mp.dps + 20):
            v = mp.exp(a * mp.log(x) - x - mp.loggamma(a + 1)) * mp.hyp1f1(1, a + 1, x, maxterms=10**8)
        return +v


def gamma_q(a, x) -> mp.mpf:
    """Regularized upper incomplete gamma Q(a, x)."""
    return mp.gammainc(mp.mpf(a), mp.mpf(x), mp.inf, regularized=True)


def chi2_cdf(x: mp.mpf, df: int) -> mp.mpf:
    return gamma_p(mp.mpf(df) / 2, x / 2)


def secant(f, t0: mp.mpf, step: mp.mpf, tol: mp.mpf, maxit: int = 60) -> mp.mpf:
    """Secant iteration on a smooth increasing-or-decreasing f, until the step is below tol."""
    ta, fa = t0, f(t0)
    tb = t0 + step
    fb = f(tb)
    for _ in range(maxit):
        if fb == fa:
            return tb
        tc = tb - fb * (tb - ta) / (fb - fa)
        ta, fa = tb, fb
        tb, fb = tc, f(tc)
        if abs(tb - ta) < tol:
            return tb
    raise RuntimeError("secant did not converge")


def chi2_quantile(p: float, df: int) -> mp.mpf:
    pm = mp.mpf(p)
    # P(df/2, x/2) = p, written as ln(tail) in ln x (tail = Q = 1 − p for p ≥ ½,
    # which is the same equation) so that the secant steps behave from x ~ 1e-20
    # to x ~ 3e6 and near p = 1.
    if pm < mp.mpf(1) / 2:
        f = lambda t: mp.log(chi2_cdf(mp.exp(t), df)) - mp.log(pm)
    else:
        f = lambda t: mp.log(gamma_q(mp.mpf(df) / 2, mp.exp(t) / 2)) - mp.log(1 - pm)
    x = mp.exp(secant(f, mp.log(chi2_guess(p, df)), mp.mpf("1e-3"), mp.mpf(10) ** (-45)))
    # Independent check with the upper incomplete gamma.
    q = gamma_q(mp.mpf(df) / 2, x / 2)
    assert abs((1 - q) - pm) <= mp.mpf(10) ** (-40) * max(pm, 1 - pm), (df, p)
    assert abs(chi2_cdf(x, df) / pm - 1) < mp.mpf(10) ** (-40), (df, p)
    return x


# ---------------------------------------------------- generalized chi-square

def imhof_parts(terms):
    lam = [mp.mpf(w) for w, _ in terms]
    n = [mp.mpf(d) for _, d in terms]
    return lam, n


def imhof_tail(x, terms) -> tuple[mp.mpf, mp.mpf]:
    """(P(Q <= x), P(Q > x)) by Imhof's integral."""
    lam, n = imhof_parts(terms)
    x = mp.mpf(x)
    mean = sum(ni * li for li, ni in zip(lam, n))

    def logrho(u):
        return sum(ni * mp.log1p((li * u) ** 2) for li, ni in zip(lam, n)) / 4

    def g(u):
        if u == 0:
            return (mean - x) / 2
        th = sum(ni * mp.atan(li * u) for li, ni in zip(lam, n)) / 2 - x * u / 2
        return mp.sin(th) / (u * mp.exp(logrho(u)))

    # Pieces of width ~ 1/4 of the Gaussian scale 1/sqrt(Σ n λ²), out to where
    # the envelope 1/(u ρ) is below 10^-(dps+10); then an infinite tail piece.
    hscale = 1 / mp.sqrt(sum(ni * li * li for li, ni in zip(lam, n)))
    w = hscale / 4
    pts = [mp.mpf(0)]
    target = (mp.dps + 10) * mp.log(10)
    while logrho(pts[-1]) + mp.log(max(pts[-1], w)) < target:
        pts.append(pts[-1] + w)
        if len(pts) > 4000:
            w *= 2
    pts.append(mp.inf)
    integral = mp.quad(g, pts)
    upper = mp.mpf(1) / 2 + integral / mp.pi
    return 1 - upper, upper


def conv_cdf(x, case):
    """F(x) = ∫₀ˣ f_A(y) F_B(x − y) dy for Q = A + B, A = λ₁χ²_{n₁}, B = λ₂χ²_{n₂}."""
    (l1, n1), (l2, n2) = case
    x = mp.mpf(x)
    a1, th1 = mp.mpf(n1) / 2, 2 * mp.mpf(l1)
    a2, th2 = mp.mpf(n2) / 2, 2 * mp.mpf(l2)
    fa = lambda y: mp.exp((a1 - 1) * mp.log(y) - y / th1 - mp.loggamma(a1) - a1 * mp.log(th1))
    fb = lambda z: mp.gammainc(a2, 0, z / th2, regularized=True)
    # Break points where either density changes character (its scale θ times a few).
    pts = sorted({mp.mpf(0), x, x / 2} | {th * v for th in (th1, th2) for v in (0.25, 1, 4, 16, 64) if th * v < x})
    return mp.quad(lambda y: fa(y) * fb(x - y), pts)


def tail_quantile(p: float, cdf_pair, x0: float) -> mp.mpf:
    pm = mp.mpf(p)
    lower = pm < mp.mpf(1) / 2
    target = pm if lower else 1 - pm

    def f(t):
        lo, up = cdf_pair(mp.exp(t))
        return mp.log(lo if lower else up) - mp.log(target)

    return mp.exp(secant(f, mp.log(x0), mp.mpf("1e-4"), mp.mpf(10) ** (-(SIG - 2))))


def satterthwaite_guess(p: float, terms) -> float:
    """Q ≈ g χ²_h with matching mean and variance; only a start for the search."""
    m1 = sum(w * d for w, d in terms)
    m2 = sum(w * w * d for w, d in terms)
    g, h = m2 / m1, m1 * m1 / m2
    with mp.workdps(50):
        return g * float(chi2_quantile(p, h))


# ------------------------------------------------------------------- main

def dump(v, indent: int = 0) -> str:
    """JSON with one record (a dict of scalars) per line."""
    pad = " " * indent
    if isinstance(v, dict) and any(isinstance(x, (dict, list)) for x in v.values()):
        items = [f'{pad}  {json.dumps(k)}: {dump(x, indent + 2).lstrip()}' for k, x in v.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v):
        return pad + "[\n" + ",\n".join(dump(x, indent + 2) for x in v) + "\n" + pad + "]"
    return pad + json.dumps(v)


def main() -> None:
    t_start = time.time()
    out: dict = {
        "_comment": "Generated by scripts/make_chi2_golden.py (mpmath). Values are decimal strings; "
        "p is the binary64 number as written. Do not edit by hand.",
        "mpmath": mpmath.__version__,
    }

    mp.dps = 50
    out["log_gamma"] = [{"x": x, "value": s(mp.loggamma(mp.mpf(x)))}
                        for x in [1e-3, 0.5, 1.5, 2.5, 3.7, 9.5, 10.25, 100.5, 1536, 15360, 1536000, 1e7, 1e12]]

    gi = []
    for a in [0.5, 1.5, 5, 50, 1536, 15360, 153600, 1536000, 1e7]:
        r = math.sqrt(a)
        for k in [-8, -3, -1, -0.1, 0, 0.1, 1, 3, 8, 20]:
            x = a + k * r
            if x <= 0:
                continue
            P, Q = gamma_p(a, x), gamma_q(a, x)
            assert abs(P + Q - 1) < mp.mpf(10) ** (-45), (a, x)
            gi.append({"a": a, "x": x, "P": s(P), "Q": s(Q)})
    out["gamma_inc"] = gi
    log(f"gamma_inc done {time.time() - t_start:.1f}s")

    rows = []
    for df in DFS:
        for p in PS:
            rows.append({"df": df, "p": p, "x": s(chi2_quantile(p, df))})
        log(f"chi2 df={df} done {time.time() - t_start:.1f}s")
    out["chi2_quantiles"] = rows

    # Two-weight cases by convolution (independent of Imhof).
    conv_cases = [[(0.7, 2), (2.3, 4)], [(0.5, 1), (3.0, 1)], [(0.01, 3), (50.0, 1)]]
    conv_out = []
    for case in conv_cases:
        pair = lambda x, c=case: (lambda F: (F, 1 - F))(conv_cdf(x, c))
        xs = [0.05, 1.0, 5.0, 12.0, 40.0]
        cdf = [{"x": x, "cdf": s(pair(x)[0])} for x in xs]
        qs = []
        for p in PS:
            x0 = satterthwaite_guess(p, case)
            qs.append({"p": p, "x": s(tail_quantile(p, pair, x0))})
        conv_out.append({"terms": [{"weight": w, "dof": d} for w, d in case], "cdf": cdf, "quantiles": qs})
        log(f"conv case {case} done {time.time() - t_start:.1f}s")
    out["gchi2_conv"] = conv_out

    # Cross-check the Imhof code against the convolution. The cases above have
    # too few degrees of freedom for Imhof (its envelope decays like u^{-1-N/2}),
    # so use the same weights with ten times the dof.
    check = [(0.7, 20), (2.3, 40)]
    for x in [20.0, 100.0, 200.0]:
        mp.dps = 50
        ref = conv_cdf(x, check)
        mp.dps = 40
        lo, _ = imhof_tail(x, check)
        assert abs(lo - ref) < mp.mpf(10) ** (-36), (x, lo, ref)
    log(f"imhof/convolution cross-check ok {time.time() - t_start:.1f}s")

    imhof_cases = [
        {"name": "c_30720", "terms": [(1.0, 30000), (2.5, 700), (40.0, 20)],
         "ps": [1e-10, 0.01, 0.05, 0.5, 0.95, 0.999, 1 - 1e-10]},
        {"name": "ten_weights_3071", "terms": [(w, 3071) for w in [0.2, 0.35, 0.5, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0, 4.5]],
         "ps": [0.01, 0.5, 0.95, 0.999]},
        # Heavy weights with few dof next to light weights with many: contours that bend
        # towards the branch points 1/(2λ) must steer clear of them.
        {"name": "mixed_a", "terms": [(0.35, 4000), (0.05, 15), (0.01, 2), (50.0, 4)],
         "ps": [0.01, 0.5, 0.95, 0.999]},
        {"name": "mixed_b", "terms": [(400.0, 6), (10.0, 700), (2.2, 4800), (1.5, 4400)],
         "ps": [0.01, 0.5, 0.95, 0.999]},
        {"name": "mixed_c", "terms": [(0.9, 4), (11.5, 3600), (340.0, 10)],
         "ps": [0.01, 0.5, 0.95, 0.999]},
    ]
    im_out = []
    for case in imhof_cases:
        terms = case["terms"]
        pair = lambda x, t=terms: imhof_tail(x, t)
        mean = sum(w * d for w, d in terms)
        sd = math.sqrt(2 * sum(w * w * d for w, d in terms))
        cdf = [{"x": x, "cdf": s(lo), "sf": s(up)}
               for x in [round(mean - 3 * sd), round(mean), round(mean + 3 * sd)]
               for lo, up in [pair(x)]]
        qs = []
        for p in case["ps"]:
            qs.append({"p": p, "x": s(tail_quantile(p, pair, satterthwaite_guess(p, terms)))})
            log(f"  {case['name']} p={p} done {time.time() - t_start:.1f}s")
        im_out.append({"name": case["name"], "terms": [{"weight": w, "dof": d} for w, d in terms],
                       "cdf": cdf, "quantiles": qs})
    out["gchi2_imhof"] = im_out

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dump(out) + "\n")
    log(f"wrote {OUT} in {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
