"""Adam for the stochastic estimators (IWAVE, mini-batch ML).

The same update as ``torch.optim.Adam`` (with ``amsgrad`` optional), written
out so that fitting does not construct a ``torch.optim`` optimizer: in torch
2.x the first one built in a process imports ``torch._dynamo``, about a
second on a 2-core machine, which is a quarter of a whole IWAVE fit of the
Holzinger-Swineford data.  It keeps the part of the optimizer interface the
training loop uses: ``param_groups`` (each a dict with ``params`` and
``lr``), ``zero_grad()`` and ``step()``.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Union

import torch


class Adam:
    """Adam (Kingma & Ba, 2015), or AMSGrad (Reddi et al., 2018) with
    ``amsgrad=True``, over one or more parameter groups.

    Parameters
    ----------
    params : iterable of Tensor, or of dicts
        Parameters, or groups ``{"params": [...], "lr": ...}`` (a group
        without ``lr`` takes the default).
    lr : float
        Default step size.
    betas : (float, float)
        Decay of the first and second moment estimates.
    eps : float
        Added to the denominator.
    amsgrad : bool
        Divide by the running maximum of the second moment estimate.

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(2, requires_grad=True)
    >>> opt = Adam([w], lr=0.1, amsgrad=True)
    >>> for _ in range(300):
    ...     opt.zero_grad()
    ...     ((w - torch.tensor([1.0, -2.0])) ** 2).sum().backward()
    ...     opt.step()
    >>> [round(v, 2) for v in w.tolist()]
    [1.0, -2.0]
    """

    def __init__(self, params: Iterable[Union[torch.Tensor, Dict]], lr: float = 0.001,
                 betas=(0.9, 0.999), eps: float = 1e-8, amsgrad: bool = False):
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: List[Dict] = [{**g, "params": list(g["params"]),
                                          "lr": g.get("lr", lr)} for g in groups]
        self.betas, self.eps, self.amsgrad = betas, eps, amsgrad
        self.steps = 0
        self.state = {id(p): self._new_state(p) for g in self.param_groups for p in g["params"]}

    def _new_state(self, p: torch.Tensor) -> List[torch.Tensor]:
        n = 3 if self.amsgrad else 2
        return [torch.zeros_like(p, memory_format=torch.preserve_format) for _ in range(n)]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        b1, b2 = self.betas
        correct1 = 1 - b1 ** self.steps
        root2 = math.sqrt(1 - b2 ** self.steps)
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad, state = p.grad, self.state[id(p)]
                mean, square = state[0], state[1]
                mean.lerp_(grad, 1 - b1)
                square.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                if self.amsgrad:
                    torch.maximum(state[2], square, out=state[2])
                    square = state[2]
                denom = (square.sqrt() / root2).add_(self.eps)
                p.addcdiv_(mean, denom, value=-g["lr"] / correct1)
