"""The one base of the problems a user can act on; ``mixdistill`` prints them in one place (cli.py)."""


class UserError(Exception):
    """Bad input, missing data, a refused setting or an unusable teacher or sandbox: printed as
    ``Error: <message>`` with no traceback, exit status :attr:`exit_code`."""

    exit_code = 2
