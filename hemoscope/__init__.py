"""HemoScope: blood-smear differential station."""

__version__ = "0.1.0"
