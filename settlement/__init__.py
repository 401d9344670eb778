"""settlement: inter-municipal settlement of beschermd wonen and maatschappelijke opvang costs."""

__version__ = "0.1.0"
RULES_VERSION = "1"
