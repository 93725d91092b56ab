"""Errors a user can cause, with a sentence they can act on.

The CLI prints ``str(error)`` on one line to stderr and exits with
``exit_code`` (2 by default): bad input never produces a traceback.
"""

from __future__ import annotations


class CareweaveError(Exception):
    """A problem with the user's input or environment, not a programming error."""

    exit_code = 2


class InputError(CareweaveError):
    """An input file or value is not what it claims to be.

    The message names the file (and field, where there is one) and the problem.
    """
