"""One module per ``mixdistill`` command; heavy imports stay inside the command functions."""

import click


class InputProblem(click.ClickException):
    """Bad user input: printed as ``Error: <file>:<line>: field ...``, exit code 2."""

    exit_code = 2
