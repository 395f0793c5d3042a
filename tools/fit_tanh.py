"""Fits the rational tanh approximation used by Sources/CNumericKernels/kernels.c.

tanh x ≈ P(x)/Q(x) on [0, 7.90531], P odd (x, x³ … x⁹), Q even (1, x² … x⁶) with Q(0) = 1.
Linearised least squares on P − tanh·Q = 0 (Loeb), reweighted toward a minimax fit of the
relative error (Lawson). Prints the coefficients and the maximum relative error in exact
(double) and float32 Horner evaluation. Run: python3 tools/fit_tanh.py
"""
import numpy as np

LIMIT = 7.90531
ODD_TERMS, EVEN_TERMS = 5, 3

x = np.sort(np.concatenate([np.linspace(0, LIMIT, 20001)[1:], np.geomspace(1e-6, 0.1, 2000)]))
f = np.tanh(x)

weights = np.ones_like(x)
for _ in range(30):
    columns = [x ** (2 * k + 1) for k in range(ODD_TERMS)] + [-f * x ** (2 * k) for k in range(1, EVEN_TERMS + 1)]
    a = np.stack(columns, 1)
    c, *_ = np.linalg.lstsq(a * weights[:, None], f * weights, rcond=None)
    p, q = c[:ODD_TERMS], np.concatenate([[1.0], c[ODD_TERMS:]])
    approx = np.polyval(p[::-1], x * x) * x / np.polyval(q[::-1], x * x)
    error = (approx - f) / f
    weights = weights * (np.abs(error) / np.abs(error).max()) ** 0.3 + 1e-12

xf = x.astype(np.float32)
x2 = xf * xf
num = np.float32(p[-1])
for k in range(ODD_TERMS - 2, -1, -1):
    num = num * x2 + np.float32(p[k])
den = np.float32(q[-1])
for k in range(EVEN_TERMS - 1, -1, -1):
    den = den * x2 + np.float32(q[k])
float_error = np.abs((num * xf / den).astype(np.float64) - f) / f

print("P (x, x^3, ...):", [float(v) for v in p])
print("Q (1, x^2, ...):", [float(v) for v in q])
print("max relative error: double %.3g, float32 %.3g" % (np.abs(error).max(), float_error.max()))
