"""``python -m plugins <package> <version> [engine address]``: serve one contract double (plugins/bin)."""

import sys

from plugins import sdk_protos

if __name__ == "__main__":
    # Before anything imports the SDK's protocol modules (plugins/sdk_protos.py says why).
    sdk_protos.enter_parents_bare()
    from plugins.serve import main

    main(sys.argv)
