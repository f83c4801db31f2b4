"""``python -m eligimatch``: the same as the ``eligimatch`` command."""

from .cli import main

main()
