"""The rules of RULES.md §3-§4, one per module, each pure: facts in, decision and trace out.

The order in which they are consulted lives in `settlement.engine`; follow it from
`Engine._allocate` to find why a client's cost lands where it does.
"""
