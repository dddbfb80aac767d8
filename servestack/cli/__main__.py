import sys

from servestack.cli import main

sys.exit(main())
