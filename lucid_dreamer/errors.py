"""The one exception type for user mistakes.

The CLI prints a `UserError` as a single line (no traceback unless `--debug`); anything else
is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: a missing file, a wrong shape, an impossible setting."""
