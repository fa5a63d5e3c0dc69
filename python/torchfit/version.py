"""The version of torchfit (one place: api, bridge and the IWAVE fit record it)."""

__version__ = "0.1.0"
