"""One exception type for bad input: its message is the one line the user sees."""


class BpttError(Exception):
    """A problem with the user's input; ``str(err)`` names it and a fix."""
