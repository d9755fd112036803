"""`mlops data add` of a folder of many 4 KiB files, cold and no-op, beside `dvc add` in the
same run (issue 14, target 3): data_add.py with `--files N` (default 10,000), kept as its
own script so its rows sit beside the large-file rows in docs/benchmarks.md.

    python bench/data_add_files.py                 # 10,000 files
    python bench/data_add_files.py --files 100000
"""

from __future__ import annotations

import sys

import data_add

if __name__ == "__main__":
    if not any(a.startswith("--files") for a in sys.argv[1:]):
        sys.argv[1:1] = ["--files", "10000"]
    data_add.main()
