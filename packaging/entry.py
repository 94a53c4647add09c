"""Entry point of the frozen application (the same `hemoscope` command)."""

from hemoscope.cli import main

raise SystemExit(main())
