"""Command line: ``python -m helpers COMMAND`` (run ``python -m helpers --help``)."""

from helpers.tools.cli import main

raise SystemExit(main())
