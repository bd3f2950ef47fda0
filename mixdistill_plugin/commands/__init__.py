"""One module per ``mixdistill`` command; heavy imports stay inside the command functions."""
