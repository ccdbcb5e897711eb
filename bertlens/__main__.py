"""`python -m bertlens`: the environment's settings are checked before the command line, and with it torch, is
imported, so a bad BERT_LENS_* value is refused in a fraction of a second rather than after seconds of imports."""
import sys

from bertlens.errors import InputError
from bertlens.settings import check_environment
from bertlens.text import visible

try:
    check_environment()
except InputError as exc:
    print(f"error: {visible(str(exc), keep=chr(10))}", file=sys.stderr)
    sys.exit(2)

from bertlens.cli import main  # noqa: E402

sys.exit(main())
