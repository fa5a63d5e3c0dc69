"""Ordered items by lavaan's limited-information estimators (WLSMV and kin)."""
from .fit import ordinal_estimate, ordinal_sample_stats, ordinal_spec

__all__ = ["ordinal_spec", "ordinal_sample_stats", "ordinal_estimate"]
