"""``flask --app wsgi tokens …``: tokens made and ended from the command line."""


def register(cli):
    """Add the ``tokens`` command group to ``cli``."""
