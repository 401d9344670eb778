"""`python cli.py ...` is the same program as `settle ...`."""

from settlement.cli import main

if __name__ == "__main__":
    main()
