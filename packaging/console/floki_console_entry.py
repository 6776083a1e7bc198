"""The one-folder build's entry point: the same ``main()`` as the floki-console command."""

import sys

from floki_console.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
