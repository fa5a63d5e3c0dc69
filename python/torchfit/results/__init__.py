"""Results: the ``Fit`` object, factor scores, the lavaan-style text report and plots."""
