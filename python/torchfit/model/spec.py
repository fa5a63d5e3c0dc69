"""``Spec``: what the model says, as lavaan's lavModel (plus its parameter table): the
table, one :class:`Model` per group, the definitions (``:=``) and the constraints
(``==``, ``<``, ``>``).  Built by the estimator's ``spec`` step (for the ML family,
:func:`torchfit.estimators.moments.build_spec`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pandas as pd

from .constraints import Constraints
from .defined import Definitions
from .matrices import Model


@dataclass
class Spec:
    """The model of a fit.

    ``table`` is lavaan's parameter table (without estimates), ``models`` its
    matrices per group, ``labels`` the group labels (``[None]`` with one group)
    and ``extras`` what an estimator adds (IWAVE: its item types and coded data).

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = parse("f =~ x1 + x2 + x3")
    >>> spec = Spec(pt, Model.per_block(pt), Definitions(pt), None)
    >>> spec.models[0].n_free, spec.means
    (6, False)
    """

    table: pd.DataFrame
    models: List[Model]
    definitions: Definitions
    constraints: Optional[Constraints]
    labels: List[Optional[str]] = field(default_factory=lambda: [None])
    extras: Dict = field(default_factory=dict)

    def __post_init__(self):
        #: whether the model has a mean structure (intercept rows)
        self.means = bool((self.table["op"] == "~1").any())

    @property
    def model(self) -> Model:
        """The first (with one group: the only) group's model."""
        return self.models[0]
