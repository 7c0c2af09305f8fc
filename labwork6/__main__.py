"""``python -m labwork6``: the command-line interface."""

from labwork6.cli import main

raise SystemExit(main())
