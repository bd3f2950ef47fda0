"""One module per ``mixdistill`` command; heavy imports stay inside the command functions. A
command raises :class:`~mixdistill_plugin.errors.UserError` for what the user can fix; ``cli.py``
prints it."""
