"""Inference after estimation: the vcov of the free parameters and its columns
(se, z, p, CI, standardized), robust (sandwich) SEs and scaled tests, the test
statistics and fit measures, and the fit indices as formulas.
"""
