"""Sub-commands of the ``hemoscope`` console script that use the shipped models."""
