from hemoscope.training.cli import main

raise SystemExit(main())
