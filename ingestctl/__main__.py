from ingestctl.cli import main

raise SystemExit(main())
