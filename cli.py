"""`python cli.py ...` is the same program as `settle ...`."""

from settlement.cli import entry

if __name__ == "__main__":
    entry()
