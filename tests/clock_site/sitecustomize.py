"""Put on PYTHONPATH of a process a test starts: its clock continues from the test's stated
instant (FIRSTLINE_TEST_NOW) instead of reading the real one. Test-only; the app never sees it
unless a test starts it this way."""

import os

_now = os.environ.get("FIRSTLINE_TEST_NOW")
if _now:
    import time_machine

    # Started for the life of the process: there is no `with` block to leave.
    time_machine.travel(_now, tick=True).start()
