from ac_play.cli import main

raise SystemExit(main())
