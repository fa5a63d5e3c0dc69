"""The model: lavaan syntax -> parameter table -> model matrices, definitions, constraints.

``syntax`` (text to formulas), ``partable`` (formulas to lavaan's parameter table),
``matrices`` (the table as Lambda, B, Psi, Theta, nu, alpha), ``defined`` (``:=``
parameters) and ``constraints`` (``==``, ``<``, ``>`` over the free parameters).
"""
