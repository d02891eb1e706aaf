import sys

from journeys.cli import main

sys.exit(main())
