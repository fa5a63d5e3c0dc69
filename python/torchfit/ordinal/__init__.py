"""Ordered items by lavaan's limited-information estimators (WLSMV and kin)."""
from .fit import ORDINAL_ESTIMATORS, fit_ordinal

__all__ = ["fit_ordinal", "ORDINAL_ESTIMATORS"]
