"""Factor rotation: orthogonal and oblique rotations of a loading matrix.

The rotations are found by the gradient projection algorithm (GPA) of
Bernaards & Jennrich (2005), "Gradient projection algorithms and software
for arbitrary rotation criteria in factor analysis", Educational and
Psychological Measurement 65, 676-696, as in R's GPArotation (``GPForth``,
``GPFoblq``) and lavaan's ``lav_matrix_rotate``; promax follows
``stats::promax``.  The criteria and their gradients are those of
GPArotation's ``vgQ.*`` functions, so results agree with R's
(tests/reference/make_efa_reference.R writes the reference values).

Conventions.  For unrotated loadings ``A`` (p x k, orthogonal factors):

* orthogonal rotation ``T`` (T'T = I): loadings ``A T``, factor correlations I;
* oblique rotation ``T`` (columns of unit length): loadings ``A inv(T)'``,
  factor correlations ``T'T``.

Either way the common part of the covariance, ``L Phi L'``, equals ``A A'``:
rotation changes how the common variance is described, never the fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from ..errors import TorchfitError

#: Rotation names and whether each is oblique by default.
ROTATIONS = {"geomin": True, "oblimin": True, "quartimin": True, "varimax": False,
             "quartimax": False, "promax": True, "none": False}


@dataclass
class Rotation:
    """A rotated solution.

    Attributes
    ----------
    loadings : ndarray (p x k)
        Rotated loadings.
    phi : ndarray (k x k)
        Factor correlations (the identity for orthogonal rotations).
    rotmat : ndarray (k x k)
        The rotation matrix T (see the module's conventions).
    method : str
    orthogonal : bool
    criterion : float
        The criterion's value at the solution (NaN for promax and none).
    iterations : int
        GPA iterations of the best start.
    converged : bool
    """

    loadings: np.ndarray
    phi: np.ndarray
    rotmat: np.ndarray
    method: str
    orthogonal: bool
    criterion: float = float("nan")
    iterations: int = 0
    converged: bool = True
    settings: Dict = field(default_factory=dict)


# -- criteria: value and gradient with respect to the loadings --------------------------------
def _oblimin(L: np.ndarray, gamma: float = 0.0) -> Tuple[float, np.ndarray]:
    """Oblimin (gamma = 0: quartimin), GPArotation's vgQ.oblimin."""
    p, k = L.shape
    X = L ** 2 @ (np.ones((k, k)) - np.eye(k))
    if gamma != 0:
        X = X - gamma * np.ones((p, p)) @ X / p
    return float(np.sum(L ** 2 * X) / 4), L * X


def _geomin(L: np.ndarray, epsilon: float = 0.001) -> Tuple[float, np.ndarray]:
    """Geomin, GPArotation's vgQ.geomin: the sum over items of the geometric
    mean of (squared loading + epsilon); epsilon keeps it differentiable."""
    k = L.shape[1]
    L2 = L ** 2 + epsilon
    pro = np.exp(np.log(L2).sum(axis=1) / k)
    return float(pro.sum()), (2 / k) * L / L2 * pro[:, None]


def _orthomax(L: np.ndarray, gamma: float = 1.0) -> Tuple[float, np.ndarray]:
    """Orthomax family (gamma = 1: varimax, 0: quartimax), vgQ.varimax's form."""
    L2 = L ** 2
    QL = L2 - gamma * L2.mean(axis=0)
    return float(-np.sum(L2 * QL) / 4), -L * QL


def criterion(method: str, **args) -> Callable[[np.ndarray], Tuple[float, np.ndarray]]:
    """The criterion function ``L -> (value, gradient)`` of a rotation method."""
    if method in ("oblimin", "quartimin"):
        gamma = 0.0 if method == "quartimin" else float(args.get("gamma", 0.0))
        return lambda L: _oblimin(L, gamma)
    if method == "geomin":
        eps = float(args.get("epsilon", 0.001))
        return lambda L: _geomin(L, eps)
    if method in ("varimax", "quartimax"):
        gamma = 1.0 if method == "varimax" else 0.0
        return lambda L: _orthomax(L, gamma)
    raise TorchfitError(f"rotation {method!r} has no criterion; use one of "
                        f"{', '.join(ROTATIONS)}")


# -- gradient projection -----------------------------------------------------------------------
def _gpa_orthogonal(A, T, vgq, tol, max_iter):
    """GPForth: steepest descent on the orthogonal group, projection by SVD."""
    f, Gq = vgq(A @ T)
    G = A.T @ Gq
    al, it = 1.0, 0
    for it in range(1, max_iter + 1):
        M = T.T @ G
        Gp = G - T @ ((M + M.T) / 2)
        s = np.linalg.norm(Gp)
        if s < tol:
            return T, f, it - 1, True
        al *= 2
        for _ in range(11):
            U, _, Vt = np.linalg.svd(T - al * Gp)
            Tt = U @ Vt
            ft, Gqt = vgq(A @ Tt)
            if f - ft > 0.5 * s ** 2 * al:
                break
            al /= 2
        T, f, G = Tt, ft, A.T @ Gqt
    return T, f, it, False


def _gpa_oblique(A, T, vgq, tol, max_iter):
    """GPFoblq: steepest descent over matrices with unit-length columns."""
    Ti = np.linalg.inv(T)
    L = A @ Ti.T
    f, Gq = vgq(L)
    G = -(L.T @ Gq @ Ti).T
    al, it = 1.0, 0
    for it in range(1, max_iter + 1):
        Gp = G - T * np.sum(T * G, axis=0)
        s = np.linalg.norm(Gp)
        if s < tol:
            return T, f, it - 1, True
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt(np.sum(X ** 2, axis=0))
            Tti = np.linalg.inv(Tt)
            L = A @ Tti.T
            ft, Gqt = vgq(L)
            if f - ft > 0.5 * s ** 2 * al:
                break
            al /= 2
        T, f, G = Tt, ft, -(L.T @ Gqt @ Tti).T
    return T, f, it, False


def _promax(A: np.ndarray, kappa: float, normalize: bool) -> np.ndarray:
    """stats::promax: varimax (Kaiser-normalized by default), then least
    squares towards the varimax loadings raised to the power kappa (keeping
    their sign), columns rescaled; returns the rotation U with loadings A U
    and factor correlations inv(U'U)."""
    w = _row_weights(A, normalize)
    Tv, _, _, _ = _gpa_orthogonal(A / w[:, None], np.eye(A.shape[1]), criterion("varimax"),
                                  1e-7, 5000)
    x = A @ Tv
    Q = x * np.abs(x) ** (kappa - 1)
    U = np.linalg.lstsq(x, Q, rcond=None)[0]
    d = np.diag(np.linalg.inv(U.T @ U))
    U = U @ np.diag(np.sqrt(d))
    return Tv @ U


def _row_weights(A: np.ndarray, normalize: bool) -> np.ndarray:
    """Kaiser normalization: rows are rotated at unit length, so that items
    with large communalities do not dominate the criterion."""
    if not normalize:
        return np.ones(A.shape[0])
    w = np.sqrt(np.sum(A ** 2, axis=1))
    return np.where(w > 0, w, 1.0)


def _random_rotation(k: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((k, k)))
    return Q * np.sign(np.diag(R))


def rotate(loadings, method: str = "geomin", orthogonal: Optional[bool] = None,
           normalize: Optional[bool] = None, random_starts: Optional[int] = None,
           seed: int = 0, tol: float = 1e-6, max_iter: int = 5000, reflect: bool = True,
           sort: bool = False, epsilon: float = 0.001, gamma: float = 0.0,
           kappa: float = 4.0) -> Rotation:
    """Rotate a loading matrix (orthogonal factors) by a rotation criterion.

    Parameters
    ----------
    loadings : array-like (p x k)
        Unrotated loadings of orthogonal, standardized factors (usually of
        standardized items, as lavaan's ``std.ov = TRUE``).
    method : {"geomin", "oblimin", "quartimin", "varimax", "quartimax", "promax", "none"}
    orthogonal : bool, optional
        Keep the factors uncorrelated; by default True for varimax,
        quartimax and none, False (oblique) for the others.
    normalize : bool, optional
        Kaiser normalization (rows scaled to unit communality while
        rotating); by default for varimax and promax only, as lavaan and
        ``stats::varimax`` do.
    random_starts : int, optional
        Extra random starting rotations; the solution with the smallest
        criterion is kept, which matters for geomin and oblimin, whose
        criteria have local minima.  Default 30 for oblique GPA rotations,
        0 otherwise.
    seed : int
        Seeds the random starts.
    tol, max_iter :
        GPA stops when the projected gradient's norm is below ``tol``.
    reflect : bool
        Flip factors whose loadings sum to a negative value.
    sort : bool
        Order factors by their sum of squared loadings (largest first).
    epsilon, gamma, kappa :
        Geomin's epsilon (lavaan's efa default 0.001), oblimin's gamma,
        promax's power.

    Returns
    -------
    Rotation

    Examples
    --------
    >>> import numpy as np
    >>> from torchfit.efa.rotation import rotate
    >>> A = np.array([[.7, .3], [.6, .4], [.7, .2], [.3, -.6], [.4, -.5], [.2, -.7]])
    >>> r = rotate(A, "varimax")
    >>> np.allclose(r.loadings @ r.phi @ r.loadings.T, A @ A.T)
    True
    """
    A = np.asarray(loadings, dtype=float)
    if A.ndim != 2:
        raise TorchfitError(f"loadings must be a matrix (items x factors), not of shape "
                            f"{A.shape}")
    method = str(method).lower()
    if method not in ROTATIONS:
        raise TorchfitError(f"unknown rotation {method!r}; use one of {', '.join(ROTATIONS)}")
    p, k = A.shape
    if orthogonal is None:
        orthogonal = not ROTATIONS[method]
    if method == "promax" and orthogonal:
        raise TorchfitError("promax is an oblique rotation; use rotation='varimax' for an "
                            "orthogonal one")
    if normalize is None:
        normalize = method in ("varimax", "promax")
    settings = dict(normalize=normalize, epsilon=epsilon, gamma=gamma, kappa=kappa)
    if k < 2 or method == "none":
        return Rotation(A.copy(), np.eye(k), np.eye(k), method if k > 1 else "none",
                        orthogonal or k < 2, settings=settings)
    # promax normalizes only its varimax step, as stats::promax does.
    w = _row_weights(A, normalize and method != "promax")
    An = A / w[:, None]
    f, it, converged = float("nan"), 0, True
    if method == "promax":
        U = _promax(A, kappa, normalize)
        L, phi, T = A @ U, np.linalg.inv(U.T @ U), U
    else:
        vgq = criterion(method, epsilon=epsilon, gamma=gamma)
        if random_starts is None:
            random_starts = 0 if orthogonal else 30
        rng = np.random.default_rng(seed)
        starts = [np.eye(k)] + [_random_rotation(k, rng) for _ in range(int(random_starts))]
        gpa = _gpa_orthogonal if orthogonal else _gpa_oblique
        # Every start runs a few hundred iterations (geomin's small epsilon
        # makes GPA crawl near some saddles); the best goes on to convergence.
        best = None
        for T0 in starts:
            out = gpa(An, T0, vgq, tol, min(max_iter, 300) if len(starts) > 1 else max_iter)
            if best is None or out[1] < best[1] - 1e-12:
                best = out
        if not best[3]:
            more = gpa(An, best[0], vgq, tol, max_iter)
            best = (more[0], more[1], best[2] + more[2], more[3])
        T, f, it, converged = best
        if orthogonal:
            L, phi = An @ T, np.eye(k)
        else:
            L, phi = An @ np.linalg.inv(T).T, T.T @ T
    L = L * w[:, None]
    order = np.arange(k)
    if sort:
        order = np.argsort(-np.sum(L ** 2, axis=0), kind="stable")
    signs = np.sign(L.sum(axis=0)) if reflect else np.ones(k)
    signs[signs == 0] = 1
    L = (L * signs)[:, order]
    phi = (phi * np.outer(signs, signs))[np.ix_(order, order)]
    T = (T * signs)[:, order]
    return Rotation(L, phi, T, method, orthogonal, f, it, converged, settings)
