"""Exploratory factor analysis: the exploratory model as a parameter table,
fitted by ML or IWAVE, then rotated; and a held-out log-likelihood scree.

The exploratory model with k factors has every loading free, standard-normal
uncorrelated factors and free residual variances.  Its loadings are
identified up to a rotation; the rotation is fixed, as is standard, by
zeros in the "upper triangle": k anchor items, the i-th of which does not
load on factors i+1..k (k(k-1)/2 zeros, which leaves the fit and its degrees
of freedom, ((p-k)^2 - (p+k))/2, those of any other identification).  The
anchors are chosen by a pivoted QR decomposition of start loadings, so that
they span the factor space well (the first k items would do in theory but
not in practice when they measure one factor).  The fit is an ordinary
:class:`torchfit.Fit`; its loadings are then standardized and rotated by
:func:`torchfit.efa.rotation.rotate` (lavaan's ``std.ov = TRUE``).
"""
from __future__ import annotations

import math
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd
import scipy.linalg

from ..api import fit as fit_model
from ..data.frames import as_frame, check_columns, check_numeric
from ..errors import ConvergenceWarning, DataError, ModelError, TorchfitError
from ..iwave.fit import fit_iwave, resolve_item_types
from ..iwave.items import CATEGORICAL
from ..results.fit import Fit
from .rotation import ROTATIONS, Rotation, rotate

ESTIMATORS = ("ML", "IWAVE")


def max_factors(p: int) -> int:
    """The largest number of factors whose exploratory model has df >= 0 for
    ``p`` items (the Ledermann bound)."""
    k = 0
    while k + 1 < p and ((p - k - 1) ** 2 - (p + k + 1)) >= 0:
        k += 1
    return k


def _columns(data, columns) -> List[str]:
    frame = as_frame(data)
    if columns is None:
        return [str(c) for c in frame.columns]
    columns = [str(c) for c in columns]
    check_columns([str(c) for c in frame.columns], columns)
    return columns


def _check(n_factors, rotation: str, estimator: str, items: Sequence[str]) -> None:
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) \
            or n_factors < 1:
        raise TorchfitError(f"n_factors = {n_factors!r}: the number of factors must be an "
                            "integer >= 1, e.g. efa(data, n_factors=2)")
    if str(rotation).lower() not in ROTATIONS:
        raise TorchfitError(f"unknown rotation {rotation!r}; use one of "
                            f"{', '.join(repr(r) for r in ROTATIONS)}")
    if estimator.upper() not in ESTIMATORS:
        raise TorchfitError(f"estimator {estimator!r} is not available for efa(); use "
                            f"{' or '.join(repr(e) for e in ESTIMATORS)}")
    p, top = len(items), max_factors(len(items))
    if n_factors > top:
        raise ModelError(
            f"{n_factors} factors are too many for {p} items: the exploratory model would "
            f"have df = {((p - n_factors) ** 2 - (p + n_factors)) // 2} < 0 and is not "
            f"identified; use n_factors <= {top}" + (" or more items" if top else
                                                       ": at least 3 items are needed"))


def _start_loadings(R: np.ndarray, k: int, iterations: int = 25) -> np.ndarray:
    """Principal axis factoring of a correlation matrix: standardized loadings
    close enough to the ML ones for Fisher scoring or IWAVE to start from."""
    try:
        h = 1 - 1 / np.diag(np.linalg.inv(R))  # squared multiple correlations
    except np.linalg.LinAlgError:
        h = np.full(len(R), 0.5)
    h = np.clip(h, 0.05, 0.95)
    for _ in range(iterations):
        Rr = R.copy()
        Rr[np.diag_indices_from(Rr)] = h
        w, V = np.linalg.eigh(Rr)
        L = V[:, ::-1][:, :k] * np.sqrt(np.maximum(w[::-1][:k], 1e-3))
        h = np.clip(np.sum(L ** 2, axis=1), 0.05, 0.95)
    return L


def _echelon(L: np.ndarray):
    """Rotate start loadings so that k anchor items have the zero pattern of
    the identification; returns (rotated loadings, anchor item indices)."""
    k = L.shape[1]
    _, _, piv = scipy.linalg.qr(L.T, pivoting=True)
    anchors = list(piv[:k])
    Q, _ = np.linalg.qr(L[anchors].T)  # L[anchors] Q is lower triangular
    out = L @ Q
    out = out * np.where(np.diag(out[anchors]) < 0, -1.0, 1.0)  # anchors load positively
    return out, anchors


def exploratory_syntax(items: Sequence[str], n_factors: int, start: Optional[np.ndarray] = None,
                       anchors: Optional[Sequence[int]] = None,
                       residual_start: Optional[Dict[str, float]] = None,
                       prefix: str = "f") -> str:
    """lavaan syntax of the exploratory model (use with ``std_lv=True,
    orthogonal=True``): every item on every factor, the i-th anchor item
    fixed at 0 on factors after the i-th, optional start values.

    Examples
    --------
    >>> from torchfit.efa.exploratory import exploratory_syntax
    >>> print(exploratory_syntax(["a", "b", "c"], 2))
    f1 =~ a + b + c
    f2 =~ 0*a + b + c
    """
    anchors = list(range(n_factors)) if anchors is None else list(anchors)
    lines = []
    for j in range(n_factors):
        terms = []
        for i, v in enumerate(items):
            if i in anchors and anchors.index(i) < j:
                terms.append(f"0*{v}")
            elif start is not None:
                terms.append(f"start({start[i, j]:.6g})*{v}")
            else:
                terms.append(v)
        lines.append(f"{prefix}{j + 1} =~ " + " + ".join(terms))
    for v, s in (residual_start or {}).items():
        lines.append(f"{v} ~~ start({s:.6g})*{v}")
    return "\n".join(lines)


class EFA:
    """An exploratory factor analysis: rotated loadings and factor
    correlations, with the unrotated fit.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Rotated standardized loadings (items x factors), as lavaan's
        ``efa()`` and psych's ``fa()`` print them.
    loadings_unstd : pandas.DataFrame
        Rotated loadings on the items' own scale (for ordinal IWAVE items,
        the logistic scale).
    factor_correlations : pandas.DataFrame
        The identity for orthogonal rotations.
    uniquenesses : pandas.Series
        Standardized residual variances, 1 - communality.
    thresholds : pandas.DataFrame or None
        Thresholds of ordinal items (IWAVE), which rotation leaves unchanged.
    fit : Fit
        The unrotated fit (fit measures, log-likelihood, parameter table).
    rotation : Rotation
        The rotation (matrix, criterion, convergence).
    syntax : str
        The lavaan syntax of the exploratory model that was fitted.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> res = torchfit.efa(hs, 3, columns=[f"x{i}" for i in range(1, 10)])
    >>> res.loadings.shape
    (9, 3)
    """

    def __init__(self, fit: Fit, rotation: Rotation, items: List[str], factors: List[str],
                 sd: np.ndarray, unrotated: np.ndarray, uniquenesses: np.ndarray,
                 syntax: str, estimator: str):
        self.fit = fit
        self.rotation = rotation
        self.items, self.factors = items, factors
        self.syntax, self.estimator = syntax, estimator
        self.loadings = pd.DataFrame(rotation.loadings, index=items, columns=factors)
        self.loadings_unstd = pd.DataFrame(rotation.loadings * sd[:, None], index=items,
                                           columns=factors)
        self.unrotated = pd.DataFrame(unrotated, index=items, columns=factors)
        self.factor_correlations = pd.DataFrame(rotation.phi, index=factors, columns=factors)
        self.uniquenesses = pd.Series(uniquenesses, index=items, name="uniqueness")
        pt = fit.partable
        th = pt[pt["op"] == "|"]
        self.thresholds = None if th.empty else \
            th[["lhs", "rhs", "est"]].rename(columns={"lhs": "item", "rhs": "threshold"}) \
            .reset_index(drop=True)

    @property
    def n_factors(self) -> int:
        return len(self.factors)

    @property
    def communalities(self) -> pd.Series:
        return (1 - self.uniquenesses).rename("communality")

    def fit_measures(self, names=None) -> Dict[str, float]:
        """The unrotated fit's measures (rotation does not change them)."""
        return self.fit.fit_measures(names)

    def summary(self, cutoff: float = 0.0, digits: int = 3) -> str:
        """Printable summary: estimator, test, rotated loadings (entries below
        ``cutoff`` in absolute value left blank), factor correlations and
        uniquenesses.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> res = torchfit.efa(hs, 2, columns=[f"x{i}" for i in range(1, 7)])
        >>> "Rotated standardized loadings" in res.summary()
        True
        """
        r = self.rotation
        kind = "orthogonal" if r.orthogonal else "oblique"
        lines = [f"torchfit {self.n_factors}-factor exploratory analysis ({self.estimator})",
                 f"  Rotation                {r.method} ({kind})"
                 + ("" if r.converged else "  NOT CONVERGED"),
                 f"  Number of observations  {self.fit.nobs}"]
        fm = self.fit.fit_measures()
        if "chisq" in fm:
            lines.append(f"  Test statistic          {fm['chisq']:.3f}  df {fm['df']:.0f}  "
                         f"p-value {fm.get('pvalue', float('nan')):.3f}")
        if "logl" in fm:
            lines.append(f"  Log-likelihood          {fm['logl']:.3f}")
        width = max(6, digits + 4)
        fmt = f"{{:>{width}.{digits}f}}"

        def table(frame: pd.DataFrame, blank_below: float = 0.0) -> List[str]:
            namew = max(len(str(i)) for i in frame.index) + 2
            out = [" " * namew + "".join(f"{c:>{width}}" for c in frame.columns)]
            for name, row in frame.iterrows():
                cells = ["" if abs(v) < blank_below else fmt.format(v) for v in row]
                out.append(f"{str(name):<{namew}}" + "".join(f"{c:>{width}}" for c in cells))
            return out

        both = self.loadings.copy()
        both["h2"] = self.communalities
        both["u2"] = self.uniquenesses
        lines += ["", "Rotated standardized loadings:"] + table(both, cutoff)
        ss = (self.loadings ** 2).sum()
        lines += [""] + table(pd.DataFrame([ss.to_numpy()], index=["SS loadings"],
                                           columns=self.factors))
        if not r.orthogonal:
            lines += ["", "Factor correlations:"] + table(self.factor_correlations)
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return self.summary()


def efa(data, n_factors: int, rotation: str = "geomin", estimator: str = "ML",
        ordered: Union[Sequence[str], bool, None] = None,
        columns: Optional[Sequence[str]] = None, *, orthogonal: Optional[bool] = None,
        normalize: Optional[bool] = None, random_starts: Optional[int] = None,
        rotation_seed: int = 0, epsilon: float = 0.001, gamma: float = 0.0,
        kappa: float = 4.0, sort: bool = True, **options) -> EFA:
    """Exploratory factor analysis by ML or IWAVE, with a rotation.

    Parameters
    ----------
    data : pandas.DataFrame
        The items; the caller's frame is not modified.
    n_factors : int
        Number of factors, from 1 to the largest number with df >= 0.
    rotation : {"geomin", "oblimin", "quartimin", "varimax", "quartimax", "promax", "none"}
        Rotation of the standardized loadings (see
        :func:`torchfit.efa.rotation.rotate`); oblique except varimax, quartimax
        and none.  Geomin uses lavaan's epsilon 0.001 and 30 random starts.
    estimator : {"ML", "IWAVE"}
        Maximum likelihood on the sample moments (items as continuous), or
        importance-weighted amortized variational estimation, which handles
        ordinal items (``ordered``).
    ordered : list of str or True, optional
        Ordinal items (graded response model) for ``estimator="IWAVE"``.
    columns : sequence of str, optional
        The items; by default every column of ``data``.
    orthogonal : bool, optional
        Keep the factors uncorrelated; by default True for varimax,
        quartimax and none, False (oblique) for the others.
    normalize : bool, optional
        Kaiser normalization while rotating; by default for varimax and
        promax only (see :func:`torchfit.efa.rotation.rotate`).
    random_starts : int, optional
        Extra random starting rotations (the smallest criterion wins);
        default 30 for oblique GPA rotations, 0 otherwise.
    rotation_seed : int
        Seed of the random starts.
    epsilon : float
        Geomin's epsilon (lavaan's 0.001).
    gamma : float
        Oblimin's gamma (0: quartimin).
    kappa : float
        Promax's power.
    sort : bool
        Order the factors by their sums of squared loadings.
    **options
        The estimator's options: ``iter_max`` and ``missing`` for ML (see
        :func:`torchfit.fit`); those of :func:`torchfit.iwave.fit.fit_iwave`
        for IWAVE.

    Returns
    -------
    EFA

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> res = torchfit.efa(hs, 3, rotation="oblimin",
    ...                    columns=[f"x{i}" for i in range(1, 10)])
    >>> res.factor_correlations.shape
    (3, 3)
    >>> print(res.summary(cutoff=0.3))  # doctest: +ELLIPSIS
    torchfit 3-factor exploratory analysis (ML)
      Rotation                oblimin (oblique)
      Number of observations  301
      Test statistic          22.897  df 12  p-value 0.029
    ...
    Rotated standardized loadings:
             f1     f2     f3     h2     u2
    ...
    """
    items = _columns(data, columns)
    _check(n_factors, rotation, estimator, items)
    frame = as_frame(data)
    for v in items:
        check_numeric(v, frame[v].dtype)
    estimator = estimator.upper()
    rot_opts = dict(orthogonal=orthogonal, normalize=normalize, random_starts=random_starts,
                    seed=rotation_seed, epsilon=epsilon, gamma=gamma, kappa=kappa, sort=sort)
    if ordered is not None and estimator != "IWAVE":
        raise ModelError("ordered= needs estimator='IWAVE'; ML treats items as continuous")

    X = frame[items].to_numpy(dtype=float)
    complete = X[~np.isnan(X).any(axis=1)]
    if len(complete) <= len(items):
        raise DataError(f"only {len(complete)} complete rows for {len(items)} items: too few "
                        "to start an exploratory analysis; use more rows or fewer items")
    sd = complete.std(axis=0)
    flat = [v for v, s in zip(items, sd) if not s > 0]
    if flat:
        raise DataError(f"item(s) {', '.join(repr(v) for v in flat)} have no variance; drop "
                        "them from columns=")
    R = np.corrcoef(complete, rowvar=False)
    L, anchors = _echelon(_start_loadings(R, n_factors))
    h = np.clip(np.sum(L ** 2, axis=1), 0.0, 0.95)
    prefix = "f"
    while any(v.startswith(prefix) for v in items):
        prefix += "f"  # factor names must not clash with item names

    if estimator == "ML":
        start = L * sd[:, None]
        resid = {v: (1 - hv) * s ** 2 for v, hv, s in zip(items, h, sd)}
        syntax = exploratory_syntax(items, n_factors, start, anchors, resid, prefix)
        fitted = fit_model(syntax, frame, estimator="ML", std_lv=True, orthogonal=True,
                           **options)
    else:
        types = resolve_item_types(items, ordered, options.get("item_types"))
        # Start loadings on each item's scale: the logistic scale for ordinal
        # items (lambda / sqrt(1 - h) * 1.7, as IWAVE's own start values).
        scale = np.array([1.7 / math.sqrt(1 - hv) if types[v] in CATEGORICAL else s
                          for v, hv, s in zip(items, h, sd)])
        resid = {v: (1 - hv) * s ** 2 for v, hv, s in zip(items, h, sd)
                 if types[v] == "normal"}
        syntax = exploratory_syntax(items, n_factors, L * scale[:, None], anchors, resid,
                                    prefix)
        fitted = fit_iwave(syntax, frame, std_lv=True, orthogonal=True, ordered=ordered,
                           **options)
    return _rotate(fitted, items, rotation, syntax, estimator, rot_opts)


def _rotate(fitted: Fit, items: List[str], rotation: str, syntax: str, estimator: str,
            rot_opts: Dict) -> EFA:
    """Standardize the fit's loadings, rotate them, and wrap the result."""
    model = fitted.model
    rows = [model.ov_names.index(v) for v in items]
    lv = [model.eta_names.index(f) for f in model.lv_names]
    A = fitted.matrices["lambda"][np.ix_(rows, lv)]
    theta = np.diag(fitted.matrices["theta"])[rows].copy()
    types = getattr(fitted, "item_types", {}) or {}
    for j, v in enumerate(items):
        if types.get(v) in CATEGORICAL:  # latent response: logistic residual
            theta[j] = math.pi ** 2 / 3
    var = np.sum(A ** 2, axis=1) + theta
    sd = np.sqrt(var)
    A_std = A / sd[:, None]
    rot = rotate(A_std, rotation, **rot_opts)
    factors = [f"f{j + 1}" for j in range(A.shape[1])]
    return EFA(fitted, rot, items, factors, sd, A_std, theta / var, syntax, estimator)


def scree(data, max_factors: int, estimator: str = "ML", holdout: float = 0.2, seed: int = 0,
          min_factors: int = 1, columns: Optional[Sequence[str]] = None,
          ordered: Union[Sequence[str], bool, None] = None, **options) -> pd.DataFrame:
    """Held-out log-likelihood over a range of factor counts.

    The rows are split at random into a training part and a held-out part
    (``holdout`` of them); for each number of factors the exploratory model is
    fitted to the training rows and the held-out rows are scored: by ML, the
    Gaussian log-likelihood at the fitted covariance matrix and the training
    means; by IWAVE, the importance-sampled marginal log-likelihood
    (:meth:`IWAVEFit.log_likelihood`).  The held-out log-likelihood rises
    while factors capture structure and levels off (or falls, from
    overfitting) after the true number: look for the peak or the elbow, as
    DeepIRTools' screeplot does.

    Parameters
    ----------
    data : pandas.DataFrame
    max_factors : int
        Largest number of factors to fit.
    estimator : {"ML", "IWAVE"}
    holdout : float
        Fraction of rows held out, in (0, 1).
    seed : int
        Seeds the split (and IWAVE's training).
    min_factors : int
        Smallest number of factors.
    columns, ordered, **options
        As for :func:`efa` (the estimator's options).

    Returns
    -------
    pandas.DataFrame
        One row per factor count: ``n_factors``, ``heldout_logl`` (sum over
        held-out rows), ``heldout_logl_per_row``, ``train_logl``,
        ``train_bic``, ``converged`` (False, without a warning, where the
        optimiser stopped short, typically a Heywood case of too many
        factors), with ``n_train`` and ``n_heldout`` in ``.attrs``.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> s = torchfit.scree(hs, 3, columns=[f"x{i}" for i in range(1, 10)])
    >>> list(s["n_factors"])
    [1, 2, 3]
    """
    items = _columns(data, columns)
    if not (isinstance(holdout, float) and 0 < holdout < 1):
        raise TorchfitError(f"holdout = {holdout!r} must be a fraction between 0 and 1, "
                            "e.g. 0.2")
    if isinstance(max_factors, bool) or not isinstance(max_factors, (int, np.integer)) \
            or max_factors < min_factors or min_factors < 1:
        raise TorchfitError(f"max_factors = {max_factors!r} must be an integer >= min_factors "
                            f"= {min_factors!r} >= 1")
    _check(int(max_factors), "none", estimator, items)
    frame = as_frame(data)[items]
    n = len(frame)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_test = int(round(holdout * n))
    if n_test < 1 or n - n_test <= len(items):
        raise DataError(f"holdout = {holdout} of {n} rows leaves {n_test} held-out and "
                        f"{n - n_test} training rows; need at least one held-out row and more "
                        f"training rows than items ({len(items)})")
    test = frame.iloc[np.sort(perm[:n_test])].reset_index(drop=True)
    train = frame.iloc[np.sort(perm[n_test:])].reset_index(drop=True)
    if estimator.upper() == "IWAVE":
        options.setdefault("seed", seed)
    rows = []
    for k in range(int(min_factors), int(max_factors) + 1):
        with warnings.catch_warnings():
            # Too many factors often end in a Heywood case; the column
            # "converged" says so for each row instead of a warning each.
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = efa(train, k, rotation="none", estimator=estimator, ordered=ordered,
                      **options)
        fm = res.fit.fit_measures()
        if estimator.upper() == "ML":
            ll = _gaussian_logl(test.to_numpy(dtype=float), train.to_numpy(dtype=float).mean(0),
                                res.fit.implied()["cov"].to_numpy())
        else:
            ll = res.fit.log_likelihood(test)
        rows.append({"n_factors": k, "heldout_logl": ll, "heldout_logl_per_row": ll / n_test,
                     "train_logl": fm.get("logl", np.nan), "train_bic": fm.get("bic", np.nan),
                     "converged": res.fit.converged})
    out = pd.DataFrame(rows)
    out.attrs.update(n_train=n - n_test, n_heldout=n_test, estimator=estimator.upper())
    return out


def _gaussian_logl(X: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """Sum of multivariate normal log-densities of the rows of X."""
    X = X[~np.isnan(X).any(axis=1)]
    C = np.linalg.cholesky(cov)
    z = scipy.linalg.solve_triangular(C, (X - mean).T, lower=True)
    p = X.shape[1]
    return float(-0.5 * np.sum(z ** 2) - len(X) * (np.sum(np.log(np.diag(C)))
                                                    + 0.5 * p * math.log(2 * math.pi)))
