"""Model matrices of the LISREL "all-y" form, built from the parameter table.

    Sigma(theta) = Lambda (I - B)^-1 Psi (I - B)^-T Lambda^T + Theta

Latent variables span eta.  As in lavaan, an observed variable that takes
part in a regression (or covaries with a latent variable) gets a phantom
latent variable of its own: an identity row in Lambda and a zero residual
variance in Theta, so its regressions live in B and its (residual) variance
in Psi.  Every table row that is a model parameter maps to one matrix cell;
the free ones are filled from a parameter vector.

With ``mean_structure=True`` (the IWAVE estimator) the table may also hold
intercepts (``~1``: nu for observed variables, alpha for latent and phantom
ones), thresholds (``y | t1``, ``y | t2``, ...: row y, column k-1 of tau) and
the category scores of nominal items (``y | s1``, ``y | s2``, ...: row y,
column k-1 of score; see :class:`torchfit.iwave.items.Nominal`); lavaan's scaling
rows (``~*~``) are accepted when fixed.

Labels shared by several parameters (lavaan's ``.p2. == .p5.`` rows) are
solved here: such parameters share one entry of the *reduced* vector ``x``
that the estimators work with.  ``Model.expand`` maps ``x`` back to one value
per free row of the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
import torch

from ..errors import ModelError
from .partable import variable_names

MATRICES = ("lambda", "beta", "psi", "theta")
MEAN_MATRICES = ("nu", "alpha", "tau", "score")
SYMMETRIC = {"psi", "theta"}


@dataclass
class Cells:
    """Where the rows of one matrix type sit: row index in the table, the
    matrix cell (r, c) and the reduced-parameter index (-1 when fixed)."""

    row: np.ndarray
    r: np.ndarray
    c: np.ndarray
    x: np.ndarray


@dataclass
class Factors:
    """d Sigma / d x of one block, factored: free cell i moves Sigma by
    a_i b_i^T + b_i a_i^T with a_i = scale_i basis[:, a[i]] and b_i =
    scale_i basis[:, b[i]], and belongs to reduced parameter owner[i]
    (:meth:`Model.jacobian_factors`)."""

    basis: torch.Tensor  # (..., p, n) columns shared by the cells (batch dims leading)
    a: torch.Tensor  # (cells,) column indices
    b: torch.Tensor
    scale: torch.Tensor  # (cells,)
    owner: torch.Tensor  # (cells,) reduced parameter of each cell
    #: the cells are the reduced parameters, in order (no equality
    #: constraints): sums over owners are the identity
    one_to_one: bool = False

    def vectors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The a_i and b_i as rows of two (cells, p) matrices."""
        return (self.basis[:, self.a] * self.scale).T, (self.basis[:, self.b] * self.scale).T

    def dense(self, n_free: int) -> torch.Tensor:
        """The (n_free, p, p) Jacobian (:meth:`Model.jacobian`)."""
        a, b = self.vectors()
        p = self.basis.shape[0]
        out = torch.zeros((n_free, p, p), dtype=a.dtype, device=a.device)
        return out.index_add_(0, self.owner, a[:, :, None] * b[:, None, :]
                              + b[:, :, None] * a[:, None, :])


class Model:
    """The covariance structure of a parameter table.

    Parameters
    ----------
    partable : pandas.DataFrame
        lavaan's parameter table (one block, one group).
    dtype, device
        Where the matrices live (float64 on the CPU by default).
    mean_structure : bool
        Also map intercepts and thresholds (nu, alpha, tau).  The ML
        estimator leaves it off and refuses such rows.
    free_scales : bool
        Accept free scale factors (``~*~``, not placed in any matrix): the
        WLS estimator of ordered items handles them itself.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> m = Model(parse("f =~ x1 + x2 + x3"))
    >>> m.ov_names, m.eta_names, m.n_free
    (['x1', 'x2', 'x3'], ['f'], 6)
    """

    def __init__(self, partable: pd.DataFrame, dtype=torch.float64, device=None,
                 mean_structure: bool = False, block: Optional[int] = None,
                 free_scales: bool = False):
        self.partable = partable
        self.dtype, self.device = dtype, device
        self.mean_structure = mean_structure
        self.free_scales = free_scales
        self.matrix_names = MATRICES + (MEAN_MATRICES if mean_structure else ())
        pt = partable
        known = {"=~", "~", "~~", "==", ":=", "<", ">"} \
            | ({"~1", "|", "~*~"} if mean_structure else set())
        unsupported = sorted(set(pt["op"]) - known)
        if unsupported:
            raise ModelError(
                "this estimator does not support the operator(s) "
                f"{', '.join(repr(o) for o in unsupported)} yet; remove them from the model")
        blocks = block_numbers(pt)
        if block is None and len(blocks) > 1:
            raise ModelError("a table with several groups needs one Model per group: "
                             "use Model.per_block(table)")
        self.block = blocks[0] if block is None else block
        # Labels and '==' rows tie parameters across groups: reduce over the
        # whole table, place only this block's rows.
        self.x_index, self.n_free = self._reduce(pt)
        self.in_block = (pt["block"] == self.block).to_numpy()
        pt = pt[self.in_block]
        names = variable_names(pt["lhs"], pt["op"], pt["rhs"], pt["user"], pt["exo"])
        self.names = names
        self.ov_names: List[str] = names.ov
        self.lv_names: List[str] = names.lv
        self.eta_names = self.lv_names + self._phantoms(pt, names)
        self.n_thresholds = self._count_rows(pt, "t")
        self.n_scores = self._count_rows(pt, "s")
        self.cells = self._place(pt)

    @classmethod
    def per_block(cls, partable: pd.DataFrame, **kwargs) -> List["Model"]:
        """One Model per block (group) of the table, sharing the parameters.

        Examples
        --------
        >>> from torchfit.model.partable import parse
        >>> ms = Model.per_block(parse("f =~ x1 + x2 + x3", ngroups=2), mean_structure=True)
        >>> [m.block for m in ms], ms[0].n_free
        ([1, 2], 18)
        """
        return [cls(partable, block=b, **kwargs) for b in block_numbers(partable)]

    # -- structure ------------------------------------------------------------
    def _phantoms(self, pt: pd.DataFrame, names) -> List[str]:
        """Observed variables that need a phantom latent variable."""
        lv = set(names.lv)
        phantom = {v for l, o, r in zip(pt["lhs"], pt["op"], pt["rhs"]) if o == "~"
                   for v in (l, r) if v not in lv}
        changed = True
        while changed:  # a covariance between an eta and an observed variable
            changed = False
            for l, o, r in zip(pt["lhs"], pt["op"], pt["rhs"]):
                if o == "~~" and l != r:
                    in_eta = [v in lv or v in phantom for v in (l, r)]
                    if any(in_eta) and not all(in_eta):
                        phantom.update(v for v in (l, r) if v not in lv)
                        changed = True
        return [v for v in names.ov if v in phantom]

    def _reduce(self, pt: pd.DataFrame) -> Tuple[np.ndarray, int]:
        """Map each free table parameter (1..npar) to a reduced index,
        merging those tied by simple equality constraints (two labels)."""
        npar = int(pt["free"].max()) if len(pt) else 0
        parent = list(range(npar))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        by_name: Dict[str, int] = {}
        for lab, plab, fr in zip(pt["label"], pt["plabel"], pt["free"]):
            if fr > 0:
                by_name[plab] = fr - 1
                if lab:
                    by_name.setdefault(lab, fr - 1)
        for lhs, op, rhs in zip(pt["lhs"], pt["op"], pt["rhs"]):
            # other constraints are functions of x (torchfit.model.constraints)
            if op != "==" or lhs not in by_name or rhs not in by_name:
                continue
            a, b = find(by_name[lhs]), find(by_name[rhs])
            parent[max(a, b)] = min(a, b)
        # labels and plabels of the free parameters, for the other constraints
        self.free_index = by_name
        roots = [find(i) for i in range(npar)]
        order = {r: k for k, r in enumerate(dict.fromkeys(roots))}
        return np.array([order[r] for r in roots], dtype=int), len(order)

    def _count_rows(self, pt: pd.DataFrame, prefix: str) -> np.ndarray:
        """Thresholds (prefix "t") or category scores ("s") per observed
        variable; they must be numbered 1, 2, ... without gaps."""
        counts = np.zeros(len(self.ov_names), dtype=int)
        numbers: Dict[str, List[int]] = {}
        for l, o, r in zip(pt["lhs"], pt["op"], pt["rhs"]):
            if o == "|" and _bar_row(r)[0] == prefix:
                numbers.setdefault(l, []).append(_bar_row(r)[1])
        what = {"t": "thresholds", "s": "category scores"}[prefix]
        for v in self.ov_names:
            ks = sorted(numbers.get(v, []))
            if ks != list(range(1, len(ks) + 1)):
                raise ModelError(f"the {what} of '{v}' are "
                                 f"{', '.join(f'{prefix}{k}' for k in ks)}; they must be "
                                 f"{prefix}1, {prefix}2, ... without gaps")
            counts[self.ov_names.index(v)] = len(ks)
        return counts

    def _place(self, pt: pd.DataFrame) -> Dict[str, Cells]:
        eta = {v: i for i, v in enumerate(self.eta_names)}
        ov = {v: i for i, v in enumerate(self.ov_names)}
        found = {m: ([], [], [], []) for m in self.matrix_names}
        rows = np.flatnonzero(self.in_block)  # positions in the whole table
        for i, lhs, op, rhs, fr in zip(rows, pt["lhs"], pt["op"], pt["rhs"], pt["free"]):
            if op == "=~":
                where = (("beta", eta[rhs], eta[lhs]) if rhs in eta
                         else ("lambda", ov[rhs], eta[lhs]))
            elif op == "~":
                where = ("beta", eta[lhs], eta[rhs])
            elif op == "~~":
                if lhs in eta:
                    a, b = sorted((eta[lhs], eta[rhs]))
                    where = ("psi", b, a)
                else:
                    a, b = sorted((ov[lhs], ov[rhs]))
                    where = ("theta", b, a)
            elif op == "~1":
                where = ("alpha", eta[lhs], 0) if lhs in eta else ("nu", ov[lhs], 0)
            elif op == "|":
                kind, k = _bar_row(rhs)
                where = ("tau" if kind == "t" else "score", ov[lhs], k - 1)
            elif op == "~*~" and fr > 0 and not self.free_scales:
                raise ModelError(f"the scaling factor '{lhs} ~*~ {rhs}' must be fixed")
            else:
                continue
            m, r, c = where
            cell = found[m]
            cell[0].append(i)
            cell[1].append(r)
            cell[2].append(c)
            cell[3].append(self.x_index[fr - 1] if fr > 0 else -1)
        return {m: Cells(*(np.array(v, dtype=int) for v in found[m])) for m in self.matrix_names}

    @property
    def dims(self) -> Dict[str, Tuple[int, int]]:
        p, m = len(self.ov_names), len(self.eta_names)
        dims = {"lambda": (p, m), "beta": (m, m), "psi": (m, m), "theta": (p, p)}
        if self.mean_structure:
            dims.update(nu=(p, 1), alpha=(m, 1),
                        tau=(p, int(self.n_thresholds.max()) if p else 0),
                        score=(p, int(self.n_scores.max()) if p else 0))
        return dims

    def fixed_values(self, values: np.ndarray) -> None:
        """Set the fixed cells from one value per table row (``values``)."""
        self._base = {}
        for m, (rows, cols) in self.dims.items():
            base = np.zeros((rows, cols))
            if m == "lambda":
                for k, v in enumerate(self.eta_names):
                    if v in self.ov_names:
                        base[self.ov_names.index(v), k] = 1.0
            cells = self.cells[m]
            fixed = cells.x < 0
            base[cells.r[fixed], cells.c[fixed]] = values[cells.row[fixed]]
            if m in SYMMETRIC:
                base[cells.c[fixed], cells.r[fixed]] = values[cells.row[fixed]]
            self._base[m] = torch.as_tensor(base, dtype=self.dtype, device=self.device)
        self._cell_index = {
            m: tuple(torch.as_tensor(a[self.cells[m].x >= 0], device=self.device)
                     for a in (self.cells[m].r, self.cells[m].c, self.cells[m].x))
            for m in self.matrix_names
        }
        self._flat = self._flat_layout()
        self._no_beta = len(self._cell_index["beta"][2]) == 0 and \
            not bool(self._base["beta"].any())
        self._theta_jacobian = None
        self._factor_index = None

    def _flat_layout(self):
        """The matrices laid end to end in one vector (their fixed values, per
        dtype), the positions of the free cells in it and the reduced
        parameter of each: :meth:`matrices` fills them with one scatter
        instead of two per matrix (small models' fits are dominated by the
        number of tensor operations, not their size)."""
        bases = [self._base[m].reshape(-1) for m in self.matrix_names]
        offsets = np.cumsum([0] + [len(b) for b in bases])
        where, which = [], []
        for m, offset in zip(self.matrix_names, offsets):
            r, c, k = (a.cpu().numpy() for a in self._cell_index[m])
            cols = self._base[m].shape[1]
            where += [offset + r * cols + c]
            which += [k]
            if m in SYMMETRIC:  # a diagonal cell once: a repeated index doubles its gradient
                where += [(offset + c * cols + r)[r != c]]
                which += [k[r != c]]
        shapes = {m: (int(offsets[i]), tuple(self._base[m].shape))
                  for i, m in enumerate(self.matrix_names)}
        as_index = partial(torch.as_tensor, dtype=torch.long, device=self.device)
        return {"base": {self.dtype: torch.cat(bases)}, "where": as_index(np.concatenate(where)),
                "which": as_index(np.concatenate(which)), "shapes": shapes}

    # -- parameters -------------------------------------------------------------
    def expand(self, x: np.ndarray) -> np.ndarray:
        """Reduced vector -> one value per free table parameter (lavaan's coef order)."""
        return np.asarray(x)[self.x_index]

    def reduce_matrix(self) -> np.ndarray:
        """K with free = K @ x: one column per reduced parameter."""
        K = np.zeros((len(self.x_index), self.n_free))
        K[np.arange(len(self.x_index)), self.x_index] = 1.0
        return K

    def matrices(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Lambda, B, Psi, Theta (and nu, alpha, tau with a mean structure) at
        the reduced parameter vector ``x``.

        ``x`` may carry leading batch dimensions (e.g. one parameter vector
        per observation, for per-observation gradients); the matrices then
        carry them too.  nu and alpha are (..., p, 1) and (..., m, 1) columns;
        tau is (..., p, max thresholds), 0 beyond an item's own thresholds.
        """
        flat = self._flat
        base = flat["base"].get(x.dtype)
        if base is None:  # the estimator's precision wins
            base = flat["base"][x.dtype] = flat["base"][self.dtype].to(x.dtype)
        batch = tuple(x.shape[:-1])
        values = base.expand(batch + base.shape).clone()
        values[..., flat["where"]] = x[..., flat["which"]]
        return {m: values[..., offset:offset + shape[0] * shape[1]].unflatten(-1, shape)
                for m, (offset, shape) in flat["shapes"].items()}

    def implied(self, mats: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sigma and (I - B)^-1 for the given matrices."""
        m = mats["beta"].shape[-1]
        eye = torch.eye(m, dtype=mats["beta"].dtype, device=self.device)
        # no regressions (a CFA): B = 0, and the inverse is I
        A = eye if self._no_beta else torch.linalg.inv(eye - mats["beta"])
        G = mats["lambda"] @ A
        return G @ mats["psi"] @ G.transpose(-1, -2) + mats["theta"], A

    def jacobian(self, mats: Dict[str, torch.Tensor], A: torch.Tensor) -> torch.Tensor:
        """d Sigma / d x as a (..., n_free, p, p) tensor, analytically (with the
        matrices' leading batch dimensions, e.g. one model per bootstrap
        replicate).

        With G = Lambda A and M = A Psi G^T, a loading (r, c) moves Sigma by
        e_r M[c] + its transpose, a regression (r, c) by G[:, r] M[c] + its
        transpose, a (co)variance in Psi by G[:, r] G[:, c]^T (+ transpose), a
        residual (co)variance by a unit cell (+ transpose).
        """
        G = mats["lambda"] @ A
        M = A @ mats["psi"] @ G.transpose(-1, -2)
        if self._theta_jacobian is None:  # residual (co)variances: constant cells
            self._theta_jacobian = self._add_cells("theta", None, None)
        D = self._theta_jacobian.expand(G.shape[:-2] + self._theta_jacobian.shape).clone()
        for m in ("lambda", "beta", "psi"):
            self._add_cells(m, G, M, D)
        return D

    def jacobian_factors(self, mats: Dict[str, torch.Tensor], A: torch.Tensor) -> "Factors":
        """d Sigma / d x in factored form (:class:`Factors`), O(p (p + m))
        instead of the O(n_free p^2) of :meth:`jacobian`; with the matrices'
        leading batch dimensions, if any.

        Each free cell moves Sigma by a b^T + b a^T, with a and b columns of
        one basis [I, G, M^T] (G = Lambda A, M = A Psi G^T): a loading (r, c)
        by e_r and M[c], a regression (r, c) by G[:, r] and M[c], a
        (co)variance in Psi by G[:, r] and G[:, c], a residual (co)variance
        by e_r and e_c (a diagonal cell: both over sqrt 2).

        Examples
        --------
        >>> from torchfit.model.partable import parse
        >>> pt = parse("f =~ x1 + x2 + x3")
        >>> m = Model(pt)
        >>> m.fixed_values(pt["ustart"].fillna(0.0).to_numpy())  # the first loading
        >>> mats = m.matrices(torch.tensor([0.8, 0.6, 0.5, 0.4, 0.3, 1.0], dtype=torch.float64))
        >>> A = m.implied(mats)[1]
        >>> bool(torch.allclose(m.jacobian_factors(mats, A).dense(m.n_free), m.jacobian(mats, A)))
        True
        """
        G = mats["lambda"] @ A
        M = A @ mats["psi"] @ G.transpose(-1, -2)
        if self._factor_index is None:
            self._factor_index = self._factor_cells(G.shape[-1])
        eye, a, b, scale, owner, one_to_one = self._factor_index
        basis = torch.cat([eye.expand(G.shape[:-2] + eye.shape), G, M.transpose(-1, -2)], -1)
        return Factors(basis, a, b, scale, owner, one_to_one)

    def _factor_cells(self, m: int):
        """The identity of the basis (see :meth:`jacobian_factors`), which
        basis columns make each free cell's a and b, its scale and its owner,
        the cells ordered by owner, and whether each owner has one cell."""
        p = len(self.ov_names)
        unit, g, mt = (lambda i: i), (lambda i: p + i), (lambda i: p + m + i)
        columns = {"lambda": (unit, mt), "beta": (g, mt), "psi": (g, g), "theta": (unit, unit)}
        parts = []
        for name, (first, second) in columns.items():
            r, c, k = self._cell_index[name]
            scale = torch.ones(len(k), dtype=self.dtype, device=self.device)
            if name in SYMMETRIC:
                scale[r == c] = 0.5 ** 0.5
            parts.append((first(r), second(c), scale, k))
        a, b, scale, owner = (torch.cat([part[i] for part in parts]) for i in range(4))
        order = torch.argsort(owner, stable=True)
        owner = owner[order]
        one_to_one = bool(torch.equal(owner, torch.arange(self.n_free, device=owner.device)))
        eye = torch.eye(p, dtype=self.dtype, device=self.device)
        return eye, a[order], b[order], scale[order], owner, one_to_one

    def _add_cells(self, m: str, G, M, out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Add the free cells of matrix ``m`` to d Sigma / d x (``out``, zeros
        by default)."""
        r, c, k = self._cell_index[m]
        p = len(self.ov_names)
        if out is None:
            out = torch.zeros((self.n_free, p, p), dtype=self.dtype, device=self.device)
        if len(k) == 0:
            return out
        if m == "lambda":
            eye = torch.eye(p, dtype=self.dtype, device=self.device)
            part = eye[r][:, :, None] * M[..., c, :][..., None, :]
        elif m == "beta":
            part = G[..., :, r].transpose(-1, -2)[..., None] * M[..., c, :][..., None, :]
        elif m == "psi":
            part = (G[..., :, r].transpose(-1, -2)[..., None]
                    * G[..., :, c].transpose(-1, -2)[..., None, :])
            part = torch.where((r == c)[:, None, None], part / 2, part)
        else:
            eye = torch.eye(p, dtype=self.dtype, device=self.device)
            part = eye[r][:, :, None] * eye[c][:, None, :]
            part = torch.where((r == c)[:, None, None], part / 2, part)
        out.index_add_(-3, k, part + part.transpose(-1, -2))
        return out

    def implied_mean(self, mats: Dict[str, torch.Tensor], A: torch.Tensor) -> torch.Tensor:
        """mu = nu + Lambda (I - B)^-1 alpha (needs the mean structure)."""
        return (mats["nu"] + mats["lambda"] @ A @ mats["alpha"])[..., 0]

    def mean_jacobian(self, mats: Dict[str, torch.Tensor], A: torch.Tensor) -> torch.Tensor:
        """d mu / d x as a (..., n_free, p) tensor: an intercept moves its own mean,
        a latent intercept moves mu by G[:, r], a loading (r, c) by (A alpha)_c
        in row r, a regression (r, c) by G[:, r] (A alpha)_c."""
        G = mats["lambda"] @ A
        a = (A @ mats["alpha"])[..., 0]
        p = G.shape[-2]
        J = torch.zeros(G.shape[:-2] + (self.n_free, p), dtype=self.dtype, device=self.device)
        eye = torch.eye(p, dtype=self.dtype, device=self.device)
        parts = {"nu": lambda r, c: eye[r], "alpha": lambda r, c: G[..., :, r].transpose(-1, -2),
                 "lambda": lambda r, c: eye[r] * a[..., c, None],
                 "beta": lambda r, c: G[..., :, r].transpose(-1, -2) * a[..., c, None]}
        for m, part in parts.items():
            r, c, k = self._cell_index[m]
            if len(k):
                value = part(r, c)
                J.index_add_(-2, k, value.expand(J.shape[:-2] + value.shape[-2:]))
        return J


def block_numbers(pt: pd.DataFrame) -> List[int]:
    """The blocks (groups) that hold model parameters, in order."""
    blocks = pt["block"].to_numpy()
    return sorted(set(blocks[blocks > 0].tolist())) or [1]


def _bar_row(rhs: str) -> Tuple[str, int]:
    """("t", k) for lavaan's threshold ``tk``, ("s", k) for the category score
    ``sk`` of a nominal item."""
    if not (rhs[:1] in ("t", "s") and rhs[1:].isdigit() and int(rhs[1:]) > 0):
        raise ModelError(f"'| {rhs}' is neither a threshold (t1, t2, ... as lavaan names "
                         "them) nor a category score of a nominal item (s1, s2, ...)")
    return rhs[0], int(rhs[1:])
