"""Documents municipalities receive: statements (afrekeningen) and invoices (facturen)."""
