"""Is a fitted model admissible?  lavaan's ``lav_object_post_check``.

A solution is a Heywood case when

1. an observed variable's (residual) variance is negative, or
2. a latent variable's (residual) variance is negative, or (only if none is)
3. the model-implied covariance matrix of the latent variables is not
   positive definite, or (only if no observed variance is negative)
4. the covariance matrix of the residuals of the observed variables (Theta)
   is not positive definite,

with eigenvalues below -eps^(3/4) counting as negative, as in lavaan.  The
messages are lavaan's, naming the variables involved: those with a
negative variance, or with a large share of an eigenvector of a negative
eigenvalue.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..model.matrices import Model

#: lavaan's tolerance for a negative eigenvalue
NEGATIVE = -np.finfo(float).eps ** 0.75
#: share of an eigenvector's largest entry above which a variable is named
INVOLVED = 0.1


def _negative_variances(model: Model, mats: Dict[str, np.ndarray], group: str
                        ) -> Tuple[List[str], List[str]]:
    """The observed and the latent variables with a negative (residual)
    variance: the diagonal of Theta, and of Psi, which holds the variances
    of the latent variables and of the observed variables that take part in
    regressions (their phantoms)."""
    psi, theta = np.diag(mats["psi"]), np.diag(mats["theta"])
    k = len(model.lv_names)
    observed = [v + group for v, t in zip(model.ov_names, theta) if t < 0] + \
        [v + group for v, t in zip(model.eta_names[k:], psi[k:]) if t < 0]
    return observed, [v + group for v, t in zip(model.lv_names, psi[:k]) if t < 0]


def _not_positive_definite(matrix: np.ndarray, names: Sequence[str]) -> List[str]:
    """The variables involved in the negative eigenvalues of ``matrix``
    (empty when it is positive semi-definite within lavaan's tolerance)."""
    if not len(names) or _positive_definite(matrix):
        return []
    w, V = np.linalg.eigh((matrix + matrix.T) / 2)
    weight = np.abs(V[:, w < NEGATIVE]).max(axis=1) if (w < NEGATIVE).any() else None
    if weight is None:
        return []
    return [names[i] for i in np.flatnonzero(weight >= INVOLVED * weight.max())]


def _positive_definite(matrix: np.ndarray) -> bool:
    """A Cholesky factor exists (the cheap answer for the usual case)."""
    try:
        np.linalg.cholesky(matrix)
        return True
    except np.linalg.LinAlgError:
        return False


def _in_group(g: int, ngroups: int) -> str:
    return f" in group {g + 1}" if ngroups > 1 else ""


def post_check(models: Sequence[Model], matrices: Sequence[Dict[str, np.ndarray]]) -> List[str]:
    """lavaan's warnings for an inadmissible solution (empty when admissible).

    Parameters
    ----------
    models, matrices
        Per group, the Model and its matrices (beta, psi, theta) at the
        estimates.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> m = Model(parse("f =~ x1 + x2 + x3"))
    >>> mats = {"beta": np.zeros((1, 1)), "psi": np.eye(1), "theta": np.diag([-0.2, 0.5, 0.6])}
    >>> post_check([m], [mats])
    ['some estimated ov variances are negative: x1']
    """
    ngroups = len(models)
    observed, latent = [], []
    for g, (model, mats) in enumerate(zip(models, matrices)):
        ov, lv = _negative_variances(model, mats, f" (group {g + 1})" if ngroups > 1 else "")
        observed += ov
        latent += lv
    messages = []
    if observed:
        messages.append("some estimated ov variances are negative: " + ", ".join(observed))
    if latent:
        messages.append("some estimated lv variances are negative: " + ", ".join(latent))
    for g, (model, mats) in enumerate(zip(models, matrices)):
        if not latent:
            messages += _latent_check(model, mats, g, ngroups)
        if not observed:
            messages += _residual_check(model, mats, g, ngroups)
    return messages


def _latent_check(model: Model, mats: Dict[str, np.ndarray], g: int, ngroups: int) -> List[str]:
    """Is the covariance matrix of the latent variables, (I - B)^-1 Psi
    (I - B)^-T without the phantom variables, positive definite?"""
    k = len(model.lv_names)
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    involved = _not_positive_definite((A @ mats["psi"] @ A.T)[:k, :k], model.lv_names)
    if not involved:
        return []
    return [f"covariance matrix of latent variables is not positive definite"
            f"{_in_group(g, ngroups)} ({', '.join(involved)}); use lavInspect(fit, \"cov.lv\") "
            "to investigate."]


def _residual_check(model: Model, mats: Dict[str, np.ndarray], g: int,
                    ngroups: int) -> List[str]:
    """Is Theta, the covariance matrix of the residuals of the observed
    variables, positive definite?"""
    involved = _not_positive_definite(mats["theta"], model.ov_names)
    if not involved:
        return []
    return [f"the covariance matrix of the residuals of the observed variables (theta) is not "
            f"positive definite{_in_group(g, ngroups)} ({', '.join(involved)}); use "
            "lavInspect(fit, \"theta\") to investigate."]
