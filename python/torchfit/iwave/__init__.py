"""IWAVE: importance-weighted amortized variational estimation for item models.

``items`` (one class per measurement model), ``networks`` (structure, encoder,
importance sampling and training) and ``fit`` (the estimator from the parameter table
to a ``Fit``).
"""
