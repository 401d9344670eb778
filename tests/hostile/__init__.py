"""The hostile-input corpus: broken exports a finance department may be handed (see cases.py)."""
