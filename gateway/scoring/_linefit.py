"""Fit a line's optical density through two kinds of blur.

A printed line is a band of gold whose density ``a * S(x)`` has soft edges (the reagent
spreads as it is dispensed): ``S`` is a box of width ``w`` smoothed by a Gaussian of
``sigma_e``, in *optical density*. The camera then blurs the *light* (intensity) with its own
point-spread function, a Gaussian of ``sigma_b`` measured on the cassette's edges. So the
relative intensity across a line is::

    y(x) = g_sigma_b * 10 ** (-a * S(x))

Fitting this model (rather than a peak height, or a fit in one space only) keeps T/C free of
the bias that blur causes when T and C differ in density: the C line fixes ``w`` and
``sigma_e``, and T is fitted with the same shape, its density alone free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN10 = math.log(10.0)
SUPER = 4  # model samples per pixel, so a sub-pixel blur is represented faithfully
GN_STEPS = 6  # Gauss-Newton steps on the density (converged to < 1e-6 from any start here)
GOLD_RED_TO_GREEN = 0.25  # gold's absorbance in the red channel relative to green
_SQRT2 = math.sqrt(2.0)


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7); numpy has no erf and scipy is not needed.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def soft_box(x: np.ndarray, centre: np.ndarray | float, width: np.ndarray | float,
             sigma: np.ndarray | float) -> np.ndarray:
    """A unit box of ``width`` at ``centre`` with Gaussian-softened edges (all px)."""
    k = 1.0 / (_SQRT2 * np.maximum(np.asarray(sigma, dtype=np.float64), 1e-3))
    w = np.asarray(width) / 2
    return 0.5 * (_erf((x - centre + w) * k) - _erf((x - centre - w) * k))


@dataclass(frozen=True)
class Fit:
    """A fitted line: density of its core, where it is, its shape, and how well it is known."""

    od: float
    centre: float
    width: float
    sigma_e: float
    od_sd: float  # standard error of od from the profile noise
    sse: float


class LineModel:
    """The blur of one profile, ready to fit lines anywhere on it."""

    def __init__(self, x: np.ndarray, y: np.ndarray, blur_px: float, noise_y: float, *,
                 red_weight: float = 0.0, gold_red_to_green: float = GOLD_RED_TO_GREEN):
        self.x = x
        self.y = y
        self.blur = max(float(blur_px), 0.05)
        self.noise_y = max(float(noise_y), 1e-6)
        # y may be green / red ** k (see _profile.read_profile): each colour is blurred on
        # its own, so the model divides the two blurred colours rather than blurring their
        # quotient; densities stay those of the green channel.
        self.k = float(red_weight)
        self.rho = float(gold_red_to_green)

    def _design(self, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Data samples in [lo, hi], the fine model grid, and the blur-and-sample matrix."""
        sel = (self.x >= lo) & (self.x <= hi)
        xs = self.x[sel]
        pad = 4 * self.blur + 1
        fine = np.arange(xs[0] - pad, xs[-1] + pad + 1e-9, 1.0 / SUPER)
        d = xs[:, None] - fine[None, :]
        kernel = np.exp(-0.5 * (d / self.blur) ** 2)
        kernel /= kernel.sum(axis=1, keepdims=True)
        return sel, fine, kernel

    def _solve_od(self, s_fine: np.ndarray, kernel: np.ndarray, y: np.ndarray,
                  od0: np.ndarray, weight: np.ndarray | float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gauss-Newton on the density for each candidate shape (rows of ``s_fine``), from
        the start densities ``od0``; ``weight`` (one row per candidate, or a scalar) says which
        data samples count (a weight of 1.0 changes nothing, bit for bit)."""
        od = od0.copy()
        ls = -LN10 * s_fine  # 10 ** (-od * s) == exp(od * ls), and exp is the cheaper call
        for _ in range(GN_STEPS):
            model, jac = self._model(od, ls, kernel)
            jac = jac * weight
            r = (y[None, :] - model) * weight
            jj = (jac * jac).sum(axis=1)
            od = od + (r * jac).sum(axis=1) / np.maximum(jj, 1e-12)
            od = np.clip(od, -0.5, 3.0)
        model, jac = self._model(od, ls, kernel)
        jac = jac * weight
        sse = (((y[None, :] - model) * weight) ** 2).sum(axis=1)
        return od, sse, (jac * jac).sum(axis=1)

    def _model(self, od: np.ndarray, ls: np.ndarray, kernel: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The modelled profile for each candidate and its derivative by the density."""
        t = np.exp(od[:, None] * ls)
        green = t @ kernel.T
        d_green = (ls * t) @ kernel.T
        if self.k == 0.0:
            return green, d_green
        tr = np.exp((self.rho * od)[:, None] * ls)
        red = tr @ kernel.T
        d_red = (self.rho * ls * tr) @ kernel.T
        red_k = red ** -self.k
        return green * red_k, (d_green - self.k * green * d_red / red) * red_k

    def fit_free(self, guess: float, width_px: float, od_guess: float) -> Fit:
        """Fit a line's density, centre, width and edge softness (the C line), with the
        camera blur fixed at the value measured on the cassette edges (fitting both kinds of
        blur from one line is ill-conditioned)."""
        w0 = float(np.clip(width_px, 2.0, 80.0))
        reach = 0.75 * w0 + 4 * self.blur + 8
        sel, fine, kernel = self._design(guess - reach, guess + reach)
        y = self.y[sel]
        best: Fit | None = None
        # A coarse grid over shape, then a finer one around the best; the density of each
        # candidate shape is solved by Gauss-Newton.
        grids = [(w0 * np.arange(0.6, 1.45, 0.2), np.arange(0.2, 2.9, 0.45),
                  guess + np.arange(-0.6, 0.61, 0.6))]
        for step in range(2):
            widths, sigmas, centres = grids[-1]
            ww, ss, cc = (g.ravel() for g in np.meshgrid(widths, sigmas, centres,
                                                       indexing="ij"))
            s_fine = soft_box(fine[None, :], cc[:, None], ww[:, None], ss[:, None])
            od, sse, jj = self._solve_od(s_fine, kernel, y, np.full(ww.size, od_guess))
            i = int(np.argmin(sse))
            if best is None or sse[i] < best.sse:
                best = Fit(float(od[i]), float(cc[i]), float(ww[i]), float(ss[i]),
                           self.noise_y / math.sqrt(max(float(jj[i]), 1e-12)), float(sse[i]))
            if step == 0:
                grids.append((best.width + np.arange(-0.12, 0.121, 0.06) * w0,
                              np.maximum(best.sigma_e + np.arange(-0.3, 0.31, 0.15), 0.05),
                              best.centre + np.arange(-0.4, 0.41, 0.2)))
        assert best is not None
        return best

    def fit_density(self, centres: np.ndarray, shape: Fit) -> list[Fit]:
        """Density of a line of ``shape`` at each candidate centre (the T line)."""
        reach = 0.75 * shape.width + 3 * shape.sigma_e + 4 * self.blur + 8
        lo, hi = float(centres.min()) - reach, float(centres.max()) + reach
        sel, fine, kernel = self._design(lo, hi)
        y = self.y[sel]
        xs = self.x[sel]
        s_fine = soft_box(fine[None, :], centres[:, None], shape.width, shape.sigma_e)
        # Only the neighbourhood of each candidate counts, as for C.
        near = np.abs(xs[None, :] - centres[:, None]) <= reach
        od, sse, jj = self._solve_od(s_fine, kernel, y, np.zeros(centres.size), weight=near)
        return [Fit(float(od[i]), float(centres[i]), shape.width, shape.sigma_e,
                    self.noise_y / math.sqrt(max(float(jj[i]), 1e-12)), float(sse[i]))
                for i in range(centres.size)]
