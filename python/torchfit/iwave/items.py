"""Measurement models p(y | eta) of the IWAVE estimator, one class per item type.

Each class holds every item of its type at once (no Python loop over items):
it knows their positions among the model's observed variables, checks and
codes their data (``prepare``) and gives the log-likelihood of a batch of
responses given the linear predictors ``lp = nu + Lambda eta`` of K
importance samples (``log_prob``).  Missing responses (NaN in the data) are
masked out of the likelihood, never imputed.

Parameters come from the model matrices of the parameter table, so every
item type reads the rows lavaan users know:

=========  ================================  ========================  ==============
type       p(y | eta)                        ``y | tk`` rows           ``y ~~ y`` row
=========  ================================  ========================  ==============
normal     N(lp, theta)                      --                        residual variance
graded     Pr(y >= k) = sigmoid(lp - tau_k)  increasing thresholds     fixed
binary     graded with two categories        one threshold             fixed
gpcm       Pr(y = k) ~ exp(k lp - sum_j<=k    step parameters          fixed
           tau_j)
nominal    Pr(y = k) ~ exp(s_k lp - sum_j<=k  step parameters; scores   fixed
           tau_j)                            ``y | sk`` (1 <= k <= K-2)
lognormal  log y ~ N(lp, theta)              --                        variance of log y
poisson    Poisson(exp(lp))                  --                        fixed
negbinom   mean exp(lp), var mu + theta mu^2 --                        dispersion theta
=========  ================================  ========================  ==============

Ordinal categories are coded 0, 1, ..., K-1 from the smallest observed value
(or from a pandas ordered Categorical's codes) and kept as int8/int16 tensors.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple, Type

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..data.frames import check_finite, check_ordered
from ..errors import DataError, ModelError

LOG_2PI = math.log(2 * math.pi)
# Stands in for an infinite threshold (below the first or above the last
# category): exactly 0 or 1 probability in float32 without inf - inf NaNs.
BIG = 1e4


class ItemModel:
    """Base class: a measurement model for all items of one type.

    Parameters
    ----------
    columns : array of int
        Positions of the items among the model's observed variables.
    n_categories : array of int, optional
        Categories per item (categorical types only).

    Subclasses set ``name``, ``categorical`` (uses thresholds),
    ``ordered_thresholds`` (they must increase) and ``free_variance`` (its
    ``y ~~ y`` row is a parameter), and implement ``_check`` and
    ``_log_prob``.
    """

    name = ""
    categorical = False
    ordered_thresholds = False
    free_variance = False
    dtype = torch.float32

    def __init__(self, columns, n_categories=None):
        self.columns = np.asarray(columns, dtype=int)
        self.n_categories = None if n_categories is None else np.asarray(n_categories, dtype=int)
        self._index = None

    # -- data -------------------------------------------------------------------
    @classmethod
    def prepare(cls, values: pd.Series, name: str) -> Tuple[np.ndarray, dict]:
        """Check one column and code it; returns (values, coding).

        Missing values stay NaN.  ``coding`` holds what is needed to code new
        data the same way (e.g. the value of the first category).
        """
        x = _numeric(values, name, cls.name)
        return cls._check(x, name), {}

    @classmethod
    def _check(cls, x: np.ndarray, name: str) -> np.ndarray:
        return x

    @classmethod
    def code(cls, values: pd.Series, name: str, coding: dict) -> np.ndarray:
        """Check and code new data as the fitted data were coded."""
        return cls.prepare(values, name)[0]

    def tensor(self, data: np.ndarray, device,
               dtype=torch.float32) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Responses of this type's items (rows x items), continuous ones in
        ``dtype``, and the mask of observed responses (None when none is
        missing)."""
        exact = dtype == torch.float64
        values, mask = _compact(data, np.float64 if exact else np.float32, device)
        return torch.as_tensor(values, dtype=dtype if exact else self.dtype, device=device), mask

    # -- likelihood ----------------------------------------------------------------
    def to(self, device, where: slice = None) -> "ItemModel":
        """Move to ``device``; ``where`` is the slice of these items in the
        estimator's item order (default: all items are of this type)."""
        self._where = slice(None) if where is None else where
        return self

    def log_prob(self, lp: torch.Tensor, y: torch.Tensor, mask: Optional[torch.Tensor],
                 mats: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Log-likelihood of the batch, summed over this type's items.

        Parameters
        ----------
        lp : Tensor (K, B, n_items)
            Linear predictors of these items for K samples of B rows.
        y : Tensor (B, n_items)
            Responses (0 where missing).
        mask : Tensor (B, n_items) of bool, or None
            Observed responses.
        mats : dict of Tensor
            Item parameters over all items of the model, in the estimator's
            order: ``var`` (n,) the ``y ~~ y`` rows and ``tau`` (n, T) the
            thresholds, optionally with a leading batch dimension B (one
            parameter vector per row).

        Returns
        -------
        Tensor (K, B)
        """
        ll = self.log_prob_items(lp, y, mats)
        if mask is not None:
            ll = ll * mask
        return ll.sum(-1)

    def log_prob_items(self, lp: torch.Tensor, y: torch.Tensor,
                       mats: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Log-likelihood of each response, (K, B, n_items), nothing masked: the
        arguments of :meth:`log_prob`.  Marginal ML tabulates it once per
        category and quadrature node.

        Examples
        --------
        >>> import torch
        >>> m = Poisson([0, 1]).to("cpu")
        >>> m.log_prob_items(torch.zeros(1, 1, 2), torch.zeros(1, 2), {}).shape
        torch.Size([1, 1, 2])
        """
        return self._log_prob(lp, y, mats)

    def _variance(self, mats):
        return mats["var"][..., self._where]


def _compact(data: np.ndarray, dtype, device) -> Tuple[np.ndarray, Optional[torch.Tensor]]:
    """A row-major copy of ``data`` in ``dtype`` with 0 where missing, made in
    one pass (``data`` may be column-major float64 with NaN), and the mask of
    observed values (None when all are)."""
    observed = ~np.isnan(data)
    out = np.zeros(data.shape, dtype=dtype)
    np.copyto(out, data, casting="unsafe", where=observed)
    mask = None if observed.all() else torch.as_tensor(np.ascontiguousarray(observed),
                                                       device=device)
    return out, mask


def _numeric(values, name: str, kind: str) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        check_ordered(name, values.dtype)
        raise DataError(f"column '{name}' is categorical but its item type is '{kind}'; "
                        f"declare it ordered (ordered=['{name}']) or convert it to numbers")
    if not (pd.api.types.is_numeric_dtype(values.dtype)
            or pd.api.types.is_bool_dtype(values.dtype)):
        raise DataError(f"column '{name}' is not numeric (dtype {values.dtype}); convert it, "
                        f"e.g. data['{name}'] = pd.to_numeric(data['{name}'])")
    x = values.to_numpy(dtype=np.float64, copy=True, na_value=np.nan)  # bool as 0/1
    check_finite(x, [name])
    return x


class Normal(ItemModel):
    """Continuous items: y = nu + lambda' eta + e, e ~ N(0, theta).

    Examples
    --------
    >>> import torch
    >>> m = Normal([0]).to("cpu")
    >>> mats = {"var": torch.ones(1)}
    >>> float(m.log_prob(torch.zeros(1, 1, 1), torch.zeros(1, 1), None, mats))  # N(0; 0, 1)
    -0.9189385175704956
    """

    name = "normal"
    free_variance = True

    def _log_prob(self, lp, y, mats):
        var = self._variance(mats)
        return -0.5 * (LOG_2PI + torch.log(var) + (y - lp) ** 2 / var)


class LogNormal(Normal):
    """Positive continuous items: log y ~ N(nu + lambda' eta, theta).

    The data are kept as log y; the log-likelihood includes the Jacobian
    -log y so that it is a density of y itself.

    Examples
    --------
    >>> import pandas as pd
    >>> LogNormal.prepare(pd.Series([1.0, 2.0]), "y")[0].round(3).tolist()
    [0.0, 0.693]
    """

    name = "lognormal"

    @classmethod
    def _check(cls, x, name):
        bad = ~np.isnan(x) & (x <= 0)
        if bad.any():
            raise DataError(f"column '{name}' has {int(bad.sum())} value(s) <= 0 (e.g. "
                            f"{x[bad][0]:g}), but a lognormal item needs positive values; "
                            "shift the values, or use item type 'normal'")
        return np.log(x)

    def _log_prob(self, lp, y, mats):
        return super()._log_prob(lp, y, mats) - y


class Poisson(ItemModel):
    """Count items: y ~ Poisson(exp(nu + lambda' eta)).

    Examples
    --------
    >>> import torch
    >>> m = Poisson([0]).to("cpu")
    >>> round(float(m.log_prob(torch.zeros(1, 1, 1), torch.ones(1, 1), None, {})), 4)
    -1.0
    """

    name = "poisson"

    @classmethod
    def _check(cls, x, name):
        seen = x[~np.isnan(x)]
        if (seen < 0).any() or (seen != np.round(seen)).any():
            bad = seen[(seen < 0) | (seen != np.round(seen))][0]
            raise DataError(f"column '{name}' has value {bad:g}, but a {cls.name} item takes "
                            "counts (integers >= 0); recode the column or choose another "
                            "item type (e.g. 'normal')")
        return x

    def _log_prob(self, lp, y, mats):
        return y * lp - torch.exp(lp) - torch.lgamma(y + 1)


class NegBinom(Poisson):
    """Overdispersed counts: negative binomial with mean mu = exp(nu + lambda' eta)
    and variance mu + theta mu^2, theta being the ``y ~~ y`` row.

    Examples
    --------
    >>> import torch
    >>> m = NegBinom([0]).to("cpu")
    >>> ll = m.log_prob(torch.zeros(1, 1, 1), torch.ones(1, 1), None, {"var": torch.ones(1)})
    >>> round(float(ll), 4)  # r = 1, mu = 1: Pr(y = 1) = 1/4
    -1.3863
    """

    name = "negbinom"
    free_variance = True

    def _log_prob(self, lp, y, mats):
        r = 1.0 / self._variance(mats)
        log_r = torch.log(r)
        return (torch.lgamma(y + r) - torch.lgamma(r) - torch.lgamma(y + 1)
                + r * log_r + y * lp - (r + y) * torch.logaddexp(log_r, lp))


class _Categorical(ItemModel):
    """Ordinal items coded 0..K-1; the thresholds are the ``y | tk`` rows."""

    categorical = True
    dtype = torch.int16

    @classmethod
    def prepare(cls, values: pd.Series, name: str) -> Tuple[np.ndarray, dict]:
        if isinstance(values.dtype, pd.CategoricalDtype):
            check_ordered(name, values.dtype)
            cats = list(values.cat.categories)
            codes = values.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            coding = {"categories": cats}
        else:
            x = _numeric(values, name, cls.name)
            seen = x[~np.isnan(x)]
            if len(seen) and (seen != np.round(seen)).any():
                bad = seen[seen != np.round(seen)][0]
                raise DataError(
                    f"column '{name}' is declared ordinal ({cls.name}) but has the non-integer "
                    f"value {bad:g}; ordinal responses must be integer category codes: recode "
                    f"it (e.g. data['{name}'] = pd.cut(...).cat.codes) or give it item type "
                    "'normal'")
            low = float(seen.min()) if len(seen) else 0.0
            high = float(seen.max()) if len(seen) else 0.0
            cats = list(range(int(low), int(high) + 1))
            codes = x - low
            coding = {"categories": cats}
        seen = codes[~np.isnan(codes)].astype(int)
        counts = np.bincount(seen, minlength=len(cats)) if len(seen) else np.zeros(len(cats))
        if len(cats) < 2 or (counts > 0).sum() < 2:
            raise DataError(f"column '{name}' has fewer than two observed categories; an "
                            "ordinal item needs at least two: drop it from the model")
        unused = [c for c, n in zip(cats, counts) if n == 0]
        if unused:
            raise DataError(
                f"ordinal column '{name}' has no responses in category "
                f"{', '.join(str(u) for u in unused)} (categories {cats[0]}..{cats[-1]}); its "
                "threshold(s) cannot be estimated: merge the empty category with a neighbour "
                "(recode the column) or drop the unused level "
                f"(data['{name}'].cat.remove_unused_categories())")
        if cls.name == "binary" and len(cats) != 2:
            raise DataError(f"column '{name}' has {len(cats)} categories but item type 'binary' "
                            "needs exactly two; use item type 'graded'")
        coding["n_categories"] = len(cats)
        return codes, coding

    @classmethod
    def code(cls, values: pd.Series, name: str, coding: dict) -> np.ndarray:
        cats = coding["categories"]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
        else:
            codes = _numeric(values, name, cls.name) - cats[0]
        seen = codes[~np.isnan(codes)]
        bad = (seen < 0) | (seen >= len(cats)) | (seen != np.round(seen))
        if bad.any():
            raise DataError(f"column '{name}' has the value {seen[bad][0] + cats[0]:g}, outside "
                            f"the categories {cats[0]}..{cats[-1]} of the fitted data; recode it "
                            "or refit with data that have that category")
        return codes

    def tensor(self, data, device, dtype=None):
        codes, mask = _compact(data, np.int16, device)
        return torch.as_tensor(codes, device=device), mask

    def to(self, device, where=None):
        super().to(device, where)
        T = int(self.n_categories.max()) - 1
        # Thresholds beyond an item's own categories stay out of reach.
        self._exists = torch.as_tensor(np.arange(T)[None, :] < (self.n_categories - 1)[:, None],
                                       device=device)
        return self

    def _thresholds(self, mats):
        tau = mats["tau"][..., self._where, :]
        return torch.where(self._exists, tau[..., : self._exists.shape[1]],
                           torch.full_like(tau[..., : self._exists.shape[1]], BIG))


class Graded(_Categorical):
    """Logistic graded response model: Pr(y >= k | eta) = sigmoid(lp - tau_k).

    Examples
    --------
    >>> import torch
    >>> m = Graded([0], [3]).to("cpu")
    >>> mats = {"tau": torch.tensor([[-1.0, 1.0]])}
    >>> ll = m.log_prob(torch.zeros(1, 1, 1), torch.tensor([[1]]), None, mats)
    >>> round(float(ll.exp()), 4)  # sigmoid(1) - sigmoid(-1)
    0.4621
    """

    name = "graded"
    ordered_thresholds = True

    def _log_prob(self, lp, y, mats):
        tau = self._thresholds(mats)
        edge = torch.full_like(tau[..., :1], BIG)
        ext = torch.cat([-edge, tau, edge], dim=-1)  # (..., n_items, T + 2)
        ext = ext.expand(y.shape + ext.shape[-1:])
        idx = y.long().unsqueeze(-1)
        lower = ext.gather(-1, idx).squeeze(-1)
        upper = ext.gather(-1, idx + 1).squeeze(-1)
        # log(sigmoid(a) - sigmoid(b)) = log sigmoid(a) + log sigmoid(-b) + log(1 - e^(b - a))
        gap = (upper - lower).clamp_min(1e-6)
        return (F.logsigmoid(lp - lower) + F.logsigmoid(upper - lp)
                + torch.log(-torch.expm1(-gap)))


class Binary(Graded):
    """Two-category items: Pr(y = 1 | eta) = sigmoid(lp - tau_1).

    Examples
    --------
    >>> import torch
    >>> m = Binary([0], [2]).to("cpu")
    >>> ll = m.log_prob(torch.zeros(1, 1, 1), torch.tensor([[1]]), None, {"tau": torch.zeros(1, 1)})
    >>> round(float(ll.exp()), 4)
    0.5
    """

    name = "binary"


class GPCM(_Categorical):
    """Generalized partial credit model:
    Pr(y = k | eta) proportional to exp(sum_{j <= k} (lp - tau_j)).

    Its normalizer sum_k exp(k lp - c_k) (c_k the cumulated steps) is a
    polynomial in t = exp(lp): on the CPU it is evaluated so (see
    :meth:`_log_total`), with one exp per response where the categories'
    log-sum-exp takes one per category and response (about four times the
    time, forward and back, which made a GPCM fit and its standard errors
    twice as slow as a graded one's).

    Examples
    --------
    >>> import torch
    >>> m = GPCM([0], [2]).to("cpu")
    >>> ll = m.log_prob(torch.zeros(1, 1, 1), torch.tensor([[1]]), None, {"tau": torch.zeros(1, 1)})
    >>> round(float(ll.exp()), 4)
    0.5
    """

    name = "gpcm"

    def to(self, device, where=None):
        super().to(device, where)
        self._valid = torch.cat([torch.ones_like(self._exists[:, :1]), self._exists], -1)
        # each item's last category, where its pivot is read (_log_total)
        self._last = torch.as_tensor(self.n_categories - 1, device=device)
        return self

    def _log_prob(self, lp, y, mats):
        steps = self._thresholds(mats)  # (..., n_items, T)
        zero = torch.zeros_like(steps[..., :1])
        cum = torch.cat([zero, torch.cumsum(steps, -1)], -1)  # (..., n_items, T + 1)
        scores = self._scores(mats, lp)
        shift, rest = self._log_total(lp, scores, cum)
        # s_y lp - c_y - log sum_k exp(s_k lp - c_k), the constants at the responses' size
        return torch.addcmul(-(_at(cum, y) + shift), _at(scores, y), lp) - rest

    def _scores(self, mats, lp):
        """The scoring function s_k of each category: k for the GPCM."""
        return torch.arange(self._exists.shape[1] + 1, device=lp.device, dtype=lp.dtype)

    def _log_total(self, lp, scores, cum):
        """log sum_k exp(s_k lp - c_k) as (shift, rest), their sum: a shift of
        the parameters' shape (..., n_items) and the rest, the shape of ``lp``.

        With integer scores s_k = k this is M + log sum_k a_k t^k, evaluated
        by Horner's rule, where t = exp(lp - x0) and a_k = exp(k x0 - c_k - M)
        for each item's pivot x0 (its mean step, where its lowest and highest
        categories are equally likely) and M = max_k (k x0 - c_k), so that the
        largest a_k is 1 (x0 and M are mere shifts: held constant, the
        derivatives of every order are exact).  No term nor partial sum, forward
        or back, overflows or loses a term that matters while T |lp - x0| stays
        within ``_SAFE`` (T the highest category); the responses beyond it (rare:
        fifteen logits off for five categories in float32) take the log-sum-exp.
        A GPU keeps the log-sum-exp: its small kernels are bound by their
        launches rather than by exp, and the range check would wait on the
        device (not measured there)."""
        if lp.device.type != "cpu" or lp.dtype not in _SAFE or not lp.numel():
            return lp.new_zeros(()), _log_sum_exp(lp, scores, cum, self._valid)
        with torch.no_grad():
            last = self._last.expand(cum.shape[:-1]).unsqueeze(-1)
            x0 = cum.gather(-1, last).squeeze(-1) / last.squeeze(-1).clamp_min(1)
            at_pivot = x0.unsqueeze(-1) * scores - cum
            top = at_pivot.amax(-1)
        # categories first: each coefficient a contiguous (..., n_items) block
        coef = torch.exp(torch.addcmul(-cum - top.unsqueeze(-1), x0.unsqueeze(-1), scores)
                         ).movedim(-1, 0).contiguous()
        d = lp - x0
        degree = cum.shape[-1] - 1
        reach = _SAFE[lp.dtype] / max(1, degree)
        low, high = torch.aminmax(d.detach())
        ok = None if max(-float(low), float(high)) <= reach else d.detach().abs() <= reach
        t = torch.exp(d if ok is None else torch.where(ok, d, torch.zeros_like(d)))
        total = coef[degree]
        for k in range(degree - 1, -1, -1):
            total = torch.addcmul(coef[k], total, t)
        rest = torch.log(total)
        if ok is None:
            return top, rest
        far = (~ok).nonzero(as_tuple=True)
        full = lp.shape + cum.shape[-1:]
        exact = _log_sum_exp(lp[far], _spread(scores, full, far), _spread(cum, full, far),
                             _spread(self._valid, full, far))
        return top, rest.index_put(far, exact - top.expand(lp.shape)[far])


def _at(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """t[..., y]: a per-category tensor (..., C) at each response y."""
    return t.expand(y.shape + t.shape[-1:]).gather(-1, y.long().unsqueeze(-1)).squeeze(-1)


def _spread(t: torch.Tensor, shape, where) -> torch.Tensor:
    """A per-category tensor broadcast to ``shape`` (..., C), at the positions
    ``where`` of its leading dimensions: (len, C)."""
    return t.expand(shape)[where]


def _log_sum_exp(lp, scores, cum, valid) -> torch.Tensor:
    """log sum_k exp(s_k lp - c_k) over the categories that exist."""
    logits = (lp.unsqueeze(-1) * scores - cum).masked_fill(~valid, -BIG)
    return torch.logsumexp(logits, -1)


#: how far (in units of the exponent) the polynomial of GPCM._log_total may range:
#: e^_SAFE times the categories stays finite, and a term below the smallest normal
#: number times e^_SAFE is negligible (float32: 1e-38 e^60 = 1e-12)
_SAFE = {torch.float32: 60.0, torch.float64: 480.0}


class Nominal(GPCM):
    """Nominal response model (Bock, 1972) in the parametrisation of Thissen,
    Cai and Bock (2010), as in mirt's ``itemtype = "nominal"``:
    Pr(y = k | eta) proportional to exp(s_k lp - sum_{j <= k} tau_j), with
    category scores s_0 = 0 and s_{K-1} = K - 1 fixed (they set the scale
    of the loadings) and s_1 .. s_{K-2} free (the ``y | sk`` rows).  The
    categories need not be ordered: the scores say how they line up along
    the factor.  All scores at s_k = k give the GPCM (e.g. ``y | 1*s1 +
    2*s2``); the ``y | tk`` rows are its step parameters.

    Examples
    --------
    >>> import torch
    >>> m = Nominal([0], [3]).to("cpu")
    >>> mats = {"tau": torch.zeros(1, 2), "score": torch.tensor([[2.0]])}
    >>> ll = m.log_prob(torch.ones(1, 1, 1), torch.tensor([[1]]), None, mats)
    >>> round(float(ll.exp()), 4)  # exp(2) / (1 + exp(2) + exp(2))
    0.4683
    """

    name = "nominal"

    def to(self, device, where=None):
        super().to(device, where)
        k = np.arange(int(self.n_categories.max()))
        self._free_score = torch.as_tensor((k[None, :] >= 1) &
                                           (k[None, :] <= self.n_categories[:, None] - 2),
                                           device=device)
        return self

    def _scores(self, mats, lp):
        k = super()._scores(mats, lp)  # s_0 = 0, s_{K-1} = K - 1
        raw = mats["score"][..., self._where, :]  # (..., n_items, S): s_1 .. s_S
        width = self._free_score.shape[1]
        raw = F.pad(raw, (1, max(0, width - 1 - raw.shape[-1])))[..., :width]
        return torch.where(self._free_score, raw.to(lp.dtype), k)

    def _log_total(self, lp, scores, cum):
        return lp.new_zeros(()), _log_sum_exp(lp, scores, cum, self._valid)  # free scores


ITEM_TYPES: Dict[str, Type[ItemModel]] = {
    cls.name: cls for cls in (Normal, Graded, Binary, GPCM, Nominal, LogNormal, Poisson,
                              NegBinom)
}
# Types whose responses are categories 0..K-1 with ``y | tk`` rows.
CATEGORICAL = tuple(k for k, c in ITEM_TYPES.items() if c.categorical)
# Types whose ``y ~~ y`` row is not a parameter (fixed: LOGISTIC_VARIANCE for the
# categorical ones, 1 for counts).
FIXED_VARIANCE = tuple(k for k, c in ITEM_TYPES.items() if not c.free_variance)
#: the variance of the standard logistic distribution: a categorical item's latent
#: response y* = lambda' eta + e has var(e) = pi^2 / 3 where a probit's has 1
LOGISTIC_VARIANCE = math.pi ** 2 / 3


def item_class(kind: str, column: str) -> Type[ItemModel]:
    """The class for an item type name, or a ModelError listing the names.

    Examples
    --------
    >>> item_class("graded", "y1").__name__
    'Graded'
    """
    if kind not in ITEM_TYPES:
        raise ModelError(f"unknown item type {kind!r} for column '{column}'; use one of "
                         f"{', '.join(repr(k) for k in ITEM_TYPES)}")
    return ITEM_TYPES[kind]
