"""Entry point of the frozen application (the same `hemoscope` command).

The spec puts build_info.json (version, build date, commit) in the bundle; `hemoscope`
reads it itself (`hemoscope.BUILD_INFO`), so every part names this build.
"""

from hemoscope.cli import main

raise SystemExit(main())
