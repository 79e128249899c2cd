"""The version of ganforge, written into every run directory."""

__version__ = "0.1.0"
