"""Importance-weighted amortized variational estimation (IWAVE; Urban & Bauer, 2021).

The model is read from the parameter table through :class:`~torchfit.model.matrices.Model`
(with its mean structure):

    eta = (I - B)^-1 (alpha + B_x x + zeta),   zeta ~ N(0, Psi)
    y_j | eta ~ p_j(y_j | nu_j + lambda_j' eta)      (items.py, one class per type)

where x are observed covariates (phantom variables of the table, conditioned
on).  An encoder network gives q(eta | y, x); the estimator maximises the
importance-weighted ELBO

    log (1/K) sum_k p(y, eta_k) / q(eta_k | y),   eta_k ~ q

over the model parameters and the encoder weights jointly, on mini-batches.

The encoder works in the standardized space of the prior: it gives w ~
N(mu(y), L(y) L(y)'), and eta = E[eta | x] + (I - B)^-1 chol(Psi) w.  The prior
densities then cancel to N(w; 0, I) / N(eps; 0, I), and the encoder needs no
knowledge of the scale the identification constraints give the factors.

Free parameters are optimised on an unconstrained scale: variances as logs,
and each threshold of a graded item as the previous one plus a softplus, so
that its thresholds stay increasing.  Estimates, standard errors and log-likelihoods are all on
the table's own scale.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import optimize

from ..errors import ModelError, TorchfitError
from ..estimate import training
from ..estimate.optim import Adam
from ..model.matrices import Model
from .items import ItemModel


# -- the structural part ---------------------------------------------------------------
class Structure:
    """The IWAVE view of a parameter table.

    Parameters
    ----------
    model : Model
        Built with ``mean_structure=True``.
    items : list of ItemModel
        One per item type present; their ``columns`` are positions among
        ``model.ov_names`` and they are ordered as ``item_names``.
    item_names : list of str
        The indicators, grouped by type in the order of ``items``.
    covariates : list of str
        Observed exogenous covariates (conditioned on).
    """

    def __init__(self, model: Model, items: List[ItemModel], item_names: List[str],
                 covariates: List[str], device="cpu", dtype=torch.float32):
        self.model, self.items = model, items
        self.item_names, self.covariates = item_names, covariates
        self.device, self.dtype = torch.device(device), dtype
        eta = model.eta_names
        self.latent = [eta.index(v) for v in model.lv_names]
        self.phantom = [eta.index(v) for v in covariates]
        self._check_structure()
        self.item_pos = [model.ov_names.index(v) for v in item_names]
        self.slices = []
        start = 0
        for it in items:
            self.slices.append(slice(start, start + len(it.columns)))
            start += len(it.columns)
        self._parametrisation()
        for it, sl in zip(items, self.slices):
            it.to(self.device, sl)
        self._layout()

    def _check_structure(self) -> None:
        m, pt = self.model, self.model.partable
        for v in m.eta_names:
            if v not in m.lv_names and v not in self.covariates:
                raise ModelError(
                    f"observed variable '{v}' is a dependent variable of a regression (or "
                    "covaries with a latent variable); the IWAVE estimator takes observed "
                    "variables as indicators or as exogenous covariates: write 'f =~ "
                    f"{v}' instead of '{v} ~ f', or fit the model with estimator='ML'")
        for lhs, op, rhs in zip(pt["lhs"], pt["op"], pt["rhs"]):
            if op == "~~" and lhs != rhs and lhs in self.item_names_set() \
                    and rhs in self.item_names_set():
                raise ModelError(f"residual covariance '{lhs} ~~ {rhs}' is not supported by the "
                                 "IWAVE estimator yet; remove it or add a latent variable for it")
            if op == "~~" and lhs != rhs and ((lhs in m.lv_names) != (rhs in m.lv_names)):
                raise ModelError(f"covariance '{lhs} ~~ {rhs}' between a latent variable and an "
                                 "observed covariate is not supported; regress the latent "
                                 f"variable on the covariate instead")

    def item_names_set(self):
        return set(self.item_names)

    # -- unconstrained parametrisation ------------------------------------------------
    def _parametrisation(self) -> None:
        """Which reduced parameters are variances (log scale) and which
        thresholds follow another one (previous + softplus: the graded
        response model's thresholds increase; GPCM steps and nominal
        intercepts need not)."""
        pt, m = self.model.partable, self.model
        ordered = {v for it, sl in zip(self.items, self.slices) if it.ordered_thresholds
                   for v in self.item_names[sl]}
        free = pt["free"].to_numpy()
        kinds: Dict[int, set] = {}
        preds: Dict[int, set] = {}
        rows = {(l, o, r): i for i, (l, o, r) in enumerate(zip(pt["lhs"], pt["op"], pt["rhs"]))}
        for i in np.flatnonzero(free > 0):
            k = int(m.x_index[free[i] - 1])
            lhs, op, rhs = pt.at[i, "lhs"], pt.at[i, "op"], pt.at[i, "rhs"]
            if op == "~~" and lhs == rhs:
                kind = "var"
            elif op == "|" and rhs.startswith("t") and lhs in ordered:
                kind = "thr"
            else:
                kind = "lin"
            kinds.setdefault(k, set()).add(kind)
            if kind == "thr":
                n = int(rhs[1:])
                prev = rows.get((lhs, "|", f"t{n - 1}"))
                if prev is None:
                    pred = None
                elif free[prev] > 0:
                    pred = int(m.x_index[free[prev] - 1])
                else:
                    pred = ("fixed", float(pt.at[prev, "ustart"]))
                preds.setdefault(k, set()).add(pred)
        n = m.n_free
        self.is_var = torch.zeros(n, dtype=torch.bool)
        for k, ks in kinds.items():
            if ks == {"var"}:
                self.is_var[k] = True
        # Thresholds in levels: a level's predecessors all come from earlier levels.
        chain = {k: next(iter(p)) for k, p in preds.items()
                 if len(p) == 1 and kinds[k] == {"thr"} and next(iter(p)) is not None}
        depth: Dict[int, int] = {}
        for _ in range(len(chain) + 1):
            for k, p in chain.items():
                if k in depth:
                    continue
                if isinstance(p, tuple):
                    depth[k] = 1
                elif p not in chain:
                    depth[k] = 1 if kinds.get(p) == {"thr"} else None
                elif depth.get(p):
                    depth[k] = depth[p] + 1
        self.levels = []
        for d in sorted({v for v in depth.values() if v}):
            ks = [k for k, v in depth.items() if v == d]
            pred = [chain[k] if not isinstance(chain[k], tuple) else -1 for k in ks]
            off = [chain[k][1] if isinstance(chain[k], tuple) else 0.0 for k in ks]
            self.levels.append(tuple(torch.as_tensor(a, device=self.device) for a in
                                     (ks, pred, np.asarray(off, dtype=np.float32))))
        self.is_var = self.is_var.to(self.device)

    def values(self, u: torch.Tensor) -> torch.Tensor:
        """Reduced parameter vector x (the table's scale) from unconstrained u."""
        # exp only of the variances: exp of a large mean (an IQ-scale intercept) is inf
        # in float32, and where()'s gradient through it 0 * inf = NaN
        x = torch.where(self.is_var, torch.exp(torch.where(self.is_var, u, 0.0)), u)
        for idx, pred, off in self.levels:
            base = torch.where(pred >= 0, x[pred.clamp_min(0)], off.to(x.dtype))
            x = x.index_put((idx,), base + F.softplus(u[idx]))
        return x

    def unconstrained(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`values` (for start values)."""
        u = torch.where(self.is_var, torch.log(x.clamp_min(1e-4)), x)
        for idx, pred, off in self.levels:
            base = torch.where(pred >= 0, x[pred.clamp_min(0)], off.to(x.dtype))
            gap = (x[idx] - base).clamp_min(1e-3)
            u = u.index_put((idx,), gap + torch.log(-torch.expm1(-gap)))
        return u

    # -- model pieces -------------------------------------------------------------------
    def _layout(self) -> None:
        """Where each matrix cell the estimator needs sits in one flat vector,
        so that a parameter vector is put in place by a single scatter.

        Pieces: lambda (items x latent), nu, var (the ``y ~~ y`` rows of the
        items), tau (items x thresholds), score (items x category scores),
        alpha, beta (latent x latent), bx (latent x covariates), psi (latent
        x latent, both triangles).
        """
        model = self.model
        p, m, q = len(self.item_pos), len(self.latent), len(self.phantom)
        T, S = (int(model.dims[k][1]) for k in ("tau", "score"))
        shapes = {"lambda": (p, m), "nu": (p,), "var": (p,), "tau": (p, T), "score": (p, S),
                  "alpha": (m,), "beta": (m, m), "bx": (m, q), "psi": (m, m)}
        offsets, start = {}, 0
        for k, shp in shapes.items():
            offsets[k] = start
            start += int(np.prod(shp))
        self._shapes, self._offsets, self._size = shapes, offsets, start
        item_of = {j: i for i, j in enumerate(self.item_pos)}
        lat_of = {e: i for i, e in enumerate(self.latent)}
        ph_of = {e: i for i, e in enumerate(self.phantom)}
        targets = []  # (flat position, table row, reduced index or -1)

        def put(piece, cell, c):
            off = offsets[piece] + (int(np.ravel_multi_index(cell, shapes[piece]))
                                    if len(shapes[piece]) == 2 else cell[0])
            targets.append((off, int(c.row), int(c.x)))

        for name, cells in model.cells.items():
            for row, r, c, x in zip(cells.row, cells.r, cells.c, cells.x):
                cell = Cells1(row, x)
                if name == "lambda" and r in item_of and c in lat_of:
                    put("lambda", (item_of[r], lat_of[c]), cell)
                elif name == "nu" and r in item_of:
                    put("nu", (item_of[r],), cell)
                elif name == "theta" and r == c and r in item_of:
                    put("var", (item_of[r],), cell)
                elif name in ("tau", "score") and r in item_of:
                    put(name, (item_of[r], c), cell)
                elif name == "alpha" and r in lat_of:
                    put("alpha", (lat_of[r],), cell)
                elif name == "beta" and r in lat_of and c in lat_of:
                    put("beta", (lat_of[r], lat_of[c]), cell)
                elif name == "beta" and r in lat_of and c in ph_of:
                    put("bx", (lat_of[r], ph_of[c]), cell)
                elif name == "psi" and r in lat_of and c in lat_of:
                    put("psi", (lat_of[r], lat_of[c]), cell)
                    if r != c:
                        put("psi", (lat_of[c], lat_of[r]), cell)
        pos = np.array([t[0] for t in targets], dtype=int)
        rows = np.array([t[1] for t in targets], dtype=int)
        red = np.array([t[2] for t in targets], dtype=int)
        self._fixed_pos, self._fixed_rows = pos[red < 0], rows[red < 0]
        free = red >= 0
        self._free_pos = torch.as_tensor(pos[free], dtype=torch.long, device=self.device)
        self._free_red = torch.as_tensor(red[free], dtype=torch.long, device=self.device)
        self._eye = torch.eye(m, dtype=torch.float64, device=self.device)
        beta = offsets["beta"] + np.arange(m * m)
        self._beta_free = bool(np.isin(pos[free], beta).any())
        self.set_fixed(np.zeros(len(model.partable)))

    def set_fixed(self, values: np.ndarray) -> None:
        """Fixed cells from one value per table row."""
        base = np.zeros(self._size)
        base[self._fixed_pos] = values[self._fixed_rows]
        o, m = self._offsets["beta"], len(self.latent)
        # Without regressions among the factors (I - B) is I: no solves needed.
        self.has_beta = self._beta_free or bool(base[o:o + m * m].any())
        self._base = torch.as_tensor(base, dtype=torch.float64, device=self.device)
        self._cast = {}  # base and identity in the estimator's precision

    def _constants(self, dtype):
        if dtype not in self._cast:
            self._cast[dtype] = (self._base.to(dtype), self._eye.to(dtype))
        return self._cast[dtype]

    def parts(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The pieces of the model at x (x may have a leading batch dimension)."""
        batch = tuple(x.shape[:-1])
        base, eye = self._constants(x.dtype)
        flat = base.expand(batch + base.shape).clone()
        flat[..., self._free_pos] = x[..., self._free_red]
        out = {}
        for k, shp in self._shapes.items():
            o = self._offsets[k]
            out[k] = flat[..., o:o + math.prod(shp)].reshape(batch + shp)
        out["ib"] = eye - out["beta"]
        return out

    def scale(self, parts, chol: torch.Tensor) -> torch.Tensor:
        """(I - B)^-1 chol(Psi): eta = E[eta | x] + scale w for standard normal w."""
        return torch.linalg.solve(parts["ib"], chol) if self.has_beta else chol

    def prior_mean(self, parts, xc: Optional[torch.Tensor]) -> torch.Tensor:
        """E[eta | x] for the rows of xc (or the one mean without covariates)."""
        rhs = parts["alpha"]
        if xc is not None and len(self.phantom):
            rhs = rhs + _lin(xc, parts["bx"])
        if not self.has_beta:
            return rhs
        return torch.linalg.solve(parts["ib"], rhs.unsqueeze(-1)).squeeze(-1)

    def log_lik(self, z: torch.Tensor, data: "Batch", parts) -> torch.Tensor:
        """log p(y | eta) summed over items: (K, B)."""
        lp = _lin(z, parts["lambda"]) + parts["nu"]
        total = 0.0
        for it, sl, (y, mask) in zip(self.items, self.slices, data.responses):
            total = total + it.log_prob(lp[..., sl], y, mask, parts)
        return total

    def log_prior(self, z: torch.Tensor, xc, parts) -> torch.Tensor:
        """log p(eta | x): (K, B); parameters may carry a batch dimension B."""
        mean = self.prior_mean(parts, xc)
        zeta = _lin(z - mean, parts["ib"])
        chol = torch.linalg.cholesky(parts["psi"])
        sol = torch.linalg.solve_triangular(chol, zeta.unsqueeze(-1), upper=False).squeeze(-1)
        logdet_psi = torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        logdet_ib = torch.linalg.slogdet(parts["ib"])[1]
        m = z.shape[-1]
        return -0.5 * (sol ** 2).sum(-1) - logdet_psi + logdet_ib - 0.5 * m * math.log(2 * math.pi)


@dataclass
class Cells1:
    row: int
    x: int


def _lin(z: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """z M' for z (..., B, m) and M (r, m) or per-row M (B, r, m)."""
    if M.dim() == 2:
        return z @ M.T
    return torch.einsum("...bm,brm->...br", z, M)


# -- data --------------------------------------------------------------------------------
@dataclass
class Batch:
    """Rows of the data: responses per item type, covariates, encoder input."""

    responses: List[Tuple[torch.Tensor, Optional[torch.Tensor]]]
    covariates: Optional[torch.Tensor]
    n: int


@dataclass
class Data:
    """All rows, on the device, with the standardization of the encoder input."""

    responses: List[Tuple[torch.Tensor, Optional[torch.Tensor]]]
    covariates: Optional[torch.Tensor]
    center: List[torch.Tensor]
    scale: List[torch.Tensor]
    x_center: Optional[torch.Tensor] = None
    x_scale: Optional[torch.Tensor] = None
    any_missing: bool = False

    @property
    def n(self) -> int:
        return self.responses[0][0].shape[0]

    def rows(self, idx: Optional[torch.Tensor]) -> Batch:
        if idx is None:
            return Batch(self.responses, self.covariates, self.n)
        resp = [(y.index_select(0, idx), None if mk is None else mk.index_select(0, idx))
                for y, mk in self.responses]
        xc = None if self.covariates is None else self.covariates.index_select(0, idx)
        return Batch(resp, xc, len(idx))

    def pieces(self, rows_per_chunk: int):
        """(this data, row indices) of at most ``rows_per_chunk`` rows each, in order
        (a streamed source, :class:`torchfit.iwave.stream.Streamed`, answers alike)."""
        for start in range(0, self.n, rows_per_chunk):
            yield self, torch.arange(start, min(self.n, start + rows_per_chunk))

    def encoder_input(self, batch: Batch, dtype) -> torch.Tensor:
        parts, masks = [], []
        for (y, mk), c, s in zip(batch.responses, self.center, self.scale):
            z = (y.to(dtype) - c) / s
            if mk is not None:
                z = z * mk
            parts.append(z)
            if self.any_missing:
                masks.append(torch.ones_like(z) if mk is None else mk.to(dtype))
        if batch.covariates is not None:
            parts.append((batch.covariates - self.x_center) / self.x_scale)
        return torch.cat(parts + masks, dim=-1)

    @property
    def n_input(self) -> int:
        n = sum(y.shape[1] for y, _ in self.responses)
        return n * (2 if self.any_missing else 1) + \
            (0 if self.covariates is None else self.covariates.shape[1])


def make_data(columns: List[np.ndarray], items: List[ItemModel], covariates: Optional[np.ndarray],
              device, dtype=torch.float32) -> Data:
    """Tensors for each item type's block of columns (already coded)."""
    responses, center, scale = [], [], []
    any_missing = False
    for block, it in zip(columns, items):
        y, mask = it.tensor(block, device, dtype)
        any_missing |= mask is not None
        responses.append((y, mask))
        mean = np.nanmean(block, axis=0)
        sd = np.nanstd(block, axis=0)
        center.append(torch.as_tensor(np.nan_to_num(mean), dtype=dtype, device=device))
        scale.append(torch.as_tensor(np.where(sd > 0, sd, 1.0), dtype=dtype, device=device))
    xc = xm = xs = None
    if covariates is not None and covariates.shape[1]:
        xc = torch.as_tensor(covariates, dtype=dtype, device=device)
        xm = xc.mean(0)
        xs = xc.std(0).clamp_min(1e-8)
    return Data(responses, xc, center, scale, xm, xs, any_missing)


# -- the encoder -------------------------------------------------------------------------
class Encoder(nn.Module):
    """MLP giving q(w | y, x) = N(mu, L L') in the prior's standardized space.

    Parameters
    ----------
    n_input : int
        Encoder inputs (standardized responses, mask indicators, covariates).
    n_factors : int
    hidden : sequence of int
        Hidden layer sizes (ELU activations).
    cov : {"diagonal", "full"}

    Examples
    --------
    >>> import torch
    >>> enc = Encoder(6, 2)
    >>> mu, L = enc(torch.zeros(4, 6))
    >>> mu.shape, L.shape
    (torch.Size([4, 2]), torch.Size([4, 2]))
    """

    def __init__(self, n_input: int, n_factors: int, hidden: Sequence[int] = (100,),
                 cov: str = "diagonal"):
        super().__init__()
        if cov not in ("diagonal", "full"):
            raise TorchfitError(f"cov = {cov!r} is not an encoder covariance; use 'diagonal' "
                                "or 'full'")
        self.m, self.cov = n_factors, cov
        layers, d = [], n_input
        for h in hidden:
            layers += [nn.Linear(d, int(h)), nn.ELU()]
            d = int(h)
        self.body = nn.Sequential(*layers)
        n_scale = n_factors if cov == "diagonal" else n_factors * (n_factors + 1) // 2
        self.head = nn.Linear(d, n_factors + n_scale)
        with torch.no_grad():  # start near q = prior, so the first steps are sane
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
        self._tril = torch.tril_indices(n_factors, n_factors)
        self._diag = (self._tril[0] == self._tril[1])

    def forward(self, inp: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out = self.head(self.body(inp))
        mu, raw = out[:, : self.m], out[:, self.m:]
        if self.cov == "diagonal":
            return mu, F.softplus(raw + 0.5413) + 1e-4  # softplus(0.5413) = 1
        raw = torch.where(self._diag.to(raw.device), F.softplus(raw + 0.5413) + 1e-4, raw)
        L = raw.new_zeros(raw.shape[0], self.m, self.m)
        L[:, self._tril[0], self._tril[1]] = raw
        return mu, L

    def sample(self, inp: torch.Tensor, k: int, generator=None, stop_q: bool = False,
               antithetic: bool = False):
        """K draws eps ~ N(0, I), w = mu + L eps, and log q(w) - log N(w; 0, I)
        is returned as the log-ratio of the prior to q: (w, log N(w) - log q(w)).
        ``antithetic``: the second half of the draws are the first half's -eps
        (K even), which cancels the odd terms of the sampling error.

        With ``stop_q`` the density log q(w) is evaluated with mu and L held
        fixed (no gradient), so that the encoder's weights reach the ratio
        through the draws w alone: the doubly-reparameterized gradient."""
        mu, L = self(inp)
        half = (k + 1) // 2 if antithetic else k
        eps = torch.randn((half,) + mu.shape, generator=generator, device=mu.device,
                          dtype=mu.dtype)
        if antithetic:
            eps = torch.cat([eps, -eps])[:k]
        if self.cov == "diagonal":
            w = mu + eps * L
        else:
            w = mu + (L @ eps.unsqueeze(-1)).squeeze(-1)
        if stop_q:
            mu, L = mu.detach(), L.detach()
            if self.cov == "diagonal":
                eps = (w - mu) / L
            else:
                eps = torch.linalg.solve_triangular(
                    L, (w - mu).unsqueeze(-1), upper=False).squeeze(-1)
        diag = L if self.cov == "diagonal" else torch.diagonal(L, dim1=-2, dim2=-1)
        log_ratio = -0.5 * (w ** 2).sum(-1) + 0.5 * (eps ** 2).sum(-1) + torch.log(diag).sum(-1)
        return w, log_ratio, eps


# -- the objective and the loop ------------------------------------------------------------
def iw_elbo(structure: Structure, encoder: Encoder, u: torch.Tensor, data: Data, batch: Batch,
            k: int, generator=None, dreg: bool = False) -> torch.Tensor:
    """Mean IW-ELBO per row of the batch (to be maximised).

    With ``dreg`` its gradient for the encoder is the doubly-reparameterized
    one (Tucker et al., 2019; as DeepIRTools): log q is held fixed in the
    weights and the gradient reaching each draw w_k is multiplied by its
    normalized weight, so the encoder gets sum_k wt_k^2 d log w_k / d w_k
    dw_k / d phi, whose variance does not grow with K; the model parameters'
    gradient is unchanged."""
    x = structure.values(u)
    parts = structure.parts(x)
    w, log_ratio, _ = encoder.sample(data.encoder_input(batch, u.dtype), k, generator,
                                     stop_q=dreg)
    chol = torch.linalg.cholesky(parts["psi"])
    scale = structure.scale(parts, chol)
    z = structure.prior_mean(parts, batch.covariates) + w @ scale.T
    logw = structure.log_lik(z, batch, parts) + log_ratio
    if dreg and w.requires_grad:
        weights = torch.softmax(logw.detach(), 0).unsqueeze(-1)
        w.register_hook(lambda grad: grad * weights)
    return (torch.logsumexp(logw, 0) - math.log(k)).mean()


@dataclass
class TrainResult:
    u: torch.Tensor
    x: np.ndarray
    iterations: int
    epochs: int
    converged: bool
    history: List[float] = field(default_factory=list)
    final_loss: float = float("nan")
    seconds: float = 0.0


def train(structure: Structure, encoder: Encoder, u0: torch.Tensor, data: Data, *,
          iw_samples: int = 10, batch_size: int = 256, lr: float = 0.01,
          lr_model: Optional[float] = 0.1,
          max_epochs: int = 100000, iter_max: Optional[int] = None, n_intervals: int = 5,
          seed: int = 0, quiet: bool = True, refine: bool = True,
          dreg: bool = True, comm=None) -> TrainResult:
    """Maximise the IW-ELBO with Adam (AMSGrad) on mini-batches, by the shared
    loop and convergence rule of :mod:`torchfit.estimate.training` (with ``refine``,
    the rule is applied twice: the second time after the step sizes are cut
    tenfold); the estimates are the parameters averaged over the last
    ``n_intervals`` windows.  ``dreg``: the encoder's gradient is the
    doubly-reparameterized one (see :func:`iw_elbo`).  With ``comm`` (a
    data-parallel fit) ``data`` is this rank's shard and the gradients and window
    losses are averaged over the ranks.
    """
    gen = torch.Generator(device=u0.device)
    gen.manual_seed(int(seed))
    u = u0.clone().requires_grad_(True)
    # The model parameters take larger steps than the encoder: their
    # gradients are noisy but consistent in sign, and the averaging
    # removes the jitter that the larger steps leave.
    opt = Adam([{"params": [u], "lr": lr if lr_model is None else lr_model},
                {"params": encoder.parameters()}], lr=lr, amsgrad=True)
    if isinstance(data, Data):
        def loss(idx):
            return -iw_elbo(structure, encoder, u, data, data.rows(idx), iw_samples, gen, dreg)
        epochs = None
    else:  # streamed (torchfit.iwave.stream.Streamed): its batches carry their rows
        def loss(batch):
            part, idx = batch
            return -iw_elbo(structure, encoder, u, part, part.rows(idx), iw_samples, gen, dreg)

        def epochs(generator):
            return data.epoch(generator, batch_size)
    trained = training.train(
        loss, u, opt, data.n, batch_size, max_epochs=max_epochs, iter_max=iter_max,
        n_intervals=n_intervals, quiet=quiet, name="IWAVE", refine=refine, generator=gen,
        comm=comm, epochs=epochs)
    with torch.no_grad():
        x_hat = structure.values(trained.params)
    return TrainResult(trained.params, x_hat.double().cpu().numpy(), trained.iterations,
                       trained.epochs, trained.converged, trained.history, trained.final_loss,
                       trained.seconds)


# -- importance sampling after the fit -----------------------------------------------------
def draws(structure: Structure, encoder: Encoder, x: torch.Tensor, data: Data, batch: Batch,
          n_samples: int, generator=None):
    """Draws of eta from q for the rows of ``batch`` and their log q, on the
    table's scale, with q held fixed (no gradient)."""
    with torch.no_grad():
        parts = structure.parts(x.to(structure.dtype))
        inp = data.encoder_input(batch, structure.dtype)
        w, log_ratio, eps = encoder.sample(inp, n_samples, generator)
        chol = torch.linalg.cholesky(parts["psi"])
        scale = structure.scale(parts, chol)
        z = structure.prior_mean(parts, batch.covariates) + w @ scale.T
        # log q(z) = log N(eps) - log|L| - log|scale|
        m = z.shape[-1]
        log_n_eps = -0.5 * (eps ** 2).sum(-1) - 0.5 * m * math.log(2 * math.pi)
        log_n_w = -0.5 * (w ** 2).sum(-1) - 0.5 * m * math.log(2 * math.pi)
        log_q_w = log_n_w - log_ratio  # log q(w)
        log_q = log_q_w - torch.linalg.slogdet(scale)[1]
        del log_n_eps
    return z, log_q


def log_weights(structure: Structure, x: torch.Tensor, z, log_q, batch: Batch) -> torch.Tensor:
    """log p(y, eta_s) - log q(eta_s) for fixed draws; x may be per row (B, n_free)."""
    parts = structure.parts(x)
    zz = z.to(x.dtype)
    return structure.log_lik(zz, _cast(batch, x.dtype), parts) \
        + structure.log_prior(zz, None if batch.covariates is None
                              else batch.covariates.to(x.dtype), parts) - log_q.to(x.dtype)


def _cast(batch: Batch, dtype) -> Batch:
    resp = [(y if not y.is_floating_point() else y.to(dtype), mk) for y, mk in batch.responses]
    return Batch(resp, None if batch.covariates is None else batch.covariates.to(dtype), batch.n)


def importance(structure: Structure, encoder: Encoder, x: np.ndarray, data: Data, *,
               n_samples: int = 1000, seed: int = 1, scores: bool = False,
               chunk_elements: int = 4_000_000) -> Dict[str, np.ndarray]:
    """Per-row importance-sampling results: ``logl`` (log p(y_i | x_i), estimated
    with ``n_samples`` draws from q) and on request ``scores`` (posterior means of
    the latent variables), in float64.

    The log of the mean weight underestimates log p(y_i) by about the weights'
    relative variance over 2S; that estimate is added (the delta method's
    correction), which leaves an O(1/S^2) bias.  On 10,000 rows of Big-Five
    data (bench/iwave_post.py) the total at the default 1,000 draws is within
    2 of the total at 3,000 (whose two seeds differ by 1); at 300 draws it is
    4 away.
    The weights are computed in float32, twice as fast as float64: a row's
    log-likelihood (tens of nats) is then off by ~1e-5, far below the draws'
    error, and the sums are taken in float64.
    """
    device = structure.device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    x32 = torch.as_tensor(x, dtype=torch.float32, device=device)
    p = max(1, len(structure.item_names))
    rows_per_chunk = max(1, chunk_elements // (n_samples * p))
    logl, post = [], []
    for part, idx in data.pieces(rows_per_chunk):
        batch = part.rows(idx.to(device))
        z, log_q = draws(structure, encoder, x32, part, batch, n_samples, gen)
        with torch.no_grad():
            lw = log_weights(structure, x32, z, log_q, batch).double()
        ell = torch.logsumexp(lw, 0) - math.log(n_samples)
        if n_samples > 1:
            relvar = ((torch.exp(lw - ell) - 1) ** 2).sum(0) / (n_samples - 1)
            ell = ell + relvar / (2 * n_samples)
        logl.append(ell.cpu().numpy())
        if scores:
            wts = torch.softmax(lw, 0).unsqueeze(-1)
            post.append((wts * z.to(torch.float64)).sum(0).cpu().numpy())
    out = {"logl": np.concatenate(logl)}
    if scores:
        out["scores"] = np.concatenate(post)
    return out


# -- a final pass at many importance samples, the encoder fixed ---------------------------
#: the final pass runs when rows x samples x free parameters x factors is at most
#: this many times the training's rows x samples (iterations x rows per step x
#: iw_samples): L-BFGS's iterations grow with the free parameters, each is a pass
#: over all the rows, and a row's cost grows with the factors; past it the pass
#: costs about the training or more (5 factors x 50 items: 1.1x the training at
#: 1,000 rows, 12x at 10,000; 1 factor x 10 items, 5,000 rows: 0.2x)
FINAL_WORK_RATIO = 4
#: below this many rows x items x samples the final pass takes more samples
FINAL_SMALL_ELEMENTS = 1_000_000


def final_pass(structure: Structure, encoder: Encoder, result: TrainResult, data: Data,
               n_samples: int, seed: int = 0, iter_max: int = 100) -> Tuple[np.ndarray, int]:
    """The model parameters that maximise the importance-sampled log-likelihood
    with ``n_samples`` fixed draws per row from the trained encoder, from the
    trained estimates; (x, L-BFGS iterations).

    The IW-ELBO at K samples is biased by about the variance of the weights
    over 2K; with the encoder fixed, the model parameters alone are refitted
    at a larger K, deterministically (common antithetic draws, L-BFGS on the exact
    gradient, float64), which shrinks that bias K-fold for the cost of a few
    passes over the data.  A streamed source (:class:`torchfit.iwave.stream.Streamed`)
    is read a buffer at a time in every evaluation, its draws made again from
    the same seed, so that only a buffer's draws are held.
    """
    gen = torch.Generator(device=structure.device)
    f64 = torch.float64

    def pieces():  # (rows, draws, log-ratios) of each block, the same draws every time
        gen.manual_seed(int(seed) + 3)
        for block in ([data] if isinstance(data, Data) else (b for b, _ in data.blocks())):
            with torch.no_grad():
                inp = block.encoder_input(block.rows(None), structure.dtype)
                w, log_ratio, _ = encoder.sample(inp, n_samples, gen, antithetic=True)
            yield _cast(block.rows(None), f64), w.to(f64), log_ratio.to(f64)

    # in memory the draws are made once; a streamed source makes its blocks' again
    fixed = list(pieces()) if isinstance(data, Data) else None

    def objective(u_np):
        u = torch.as_tensor(u_np, dtype=f64, device=structure.device).requires_grad_(True)
        total = 0.0
        for batch, w, log_ratio in (fixed if fixed is not None else pieces()):
            parts = structure.parts(structure.values(u))
            chol, info = torch.linalg.cholesky_ex(parts["psi"])
            if int(info) != 0:
                return 1e10, np.zeros_like(u_np)
            z = structure.prior_mean(parts, batch.covariates) + w @ structure.scale(parts, chol).T
            logw = structure.log_lik(z, batch, parts) + log_ratio
            ell = torch.logsumexp(logw, 0) - math.log(n_samples)
            loss = -ell.mean() if fixed is not None else -ell.sum() / data.n
            loss.backward()
            total += float(loss.detach())
        return total, u.grad.cpu().numpy()

    res = optimize.minimize(objective, result.u.detach().double().cpu().numpy(), jac=True,
                            method="L-BFGS-B",
                            options={"maxiter": int(iter_max), "gtol": 1e-6, "ftol": 1e-12})
    with torch.no_grad():
        x = structure.values(torch.as_tensor(res.x, dtype=f64, device=structure.device))
    return x.cpu().numpy(), int(res.nit)
