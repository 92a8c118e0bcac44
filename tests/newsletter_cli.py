"""The installed `newsletter` command, for the tests that run it as a separate process.

In: nothing. Out: ``CLI``, the path of the console script beside this interpreter, which a
test starts with ``subprocess``. A test that uses it starts our program in a process and is
marked ``slow``; ``test_code_quality`` checks that for every test module.
"""

from __future__ import annotations

import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("newsletter"))
