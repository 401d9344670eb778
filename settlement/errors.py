"""The user's mistakes that are not about the data, at the bottom of the package: every layer may
raise them, and the command line turns each into one sentence and its exit status."""


class UserError(Exception):
    """A mistake of the user's: one sentence, and exit status `status` (1 by default; 2 for a
    refusal of what the user asked for or gave, as INTERFACE.md §2 says for refused input)."""

    status = 1

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class Refused(UserError):
    """The command refuses what it was asked to do (it would replace files it did not write, ...):
    exit status 2, nothing changed."""

    status = 2
