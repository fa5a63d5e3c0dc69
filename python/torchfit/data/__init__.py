"""The data: checks and chunked reads of the rows, sample moments, missing-data patterns
and the asymptotic covariance of the moments (Gamma); nothing here knows the model.
"""
