"""One shard of the 10,000-upload fuzz run, in its own process so that its peak memory is its own (not a test module).

``python -m tests.reliability.fuzz_uploads_child SHARD TMP_DIR`` runs the strategies of
``test_fuzz_inputs.FUZZ_SHARDS[SHARD]`` and prints one JSON line: the outcomes, the slowest case in seconds
and the peak resident memory in MB. An unhandled exception ends it with hypothesis' report of the input; a
case over ``CASE_BOUND_S`` ends it with every thread's stack (both exit non-zero).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.reliability.test_fuzz_inputs import fuzz_shard

if __name__ == "__main__":
    shard, tmp = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(fuzz_shard(shard, tmp)), flush=True)
