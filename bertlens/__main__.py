import sys

from bertlens.cli import main

sys.exit(main())
