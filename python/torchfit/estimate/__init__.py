"""The estimators: start values, ML on sample moments, FIML, mini-batch ML, and the
shared training loop and optimiser; each returns the optimum for the inference stage.
"""
