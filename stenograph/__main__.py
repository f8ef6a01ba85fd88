"""``python -m stenograph``: the command line."""

from stenograph.cli import main

main()
