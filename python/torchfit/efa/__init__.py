"""Exploratory factor analysis: ``exploratory`` (the fits and scree) and ``rotation``."""
