"""`python -m hemoscope`: the same as the `hemoscope` command."""

import sys

from hemoscope.cli import main

sys.exit(main())
