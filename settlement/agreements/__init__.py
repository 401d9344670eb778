"""Agreement kinds. Importing this package registers every kind in `base.KINDS`."""

from . import interregional, pool  # noqa: F401  (registration)
from .base import KINDS, Agreement, Case, PoolResult

__all__ = ["KINDS", "Agreement", "Case", "PoolResult"]
