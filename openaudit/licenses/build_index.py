"""Build criteria/license-index/spdx-bigrams.bin from the SPDX licence texts (openaudit.licenses.similarity).

    python -m openaudit.licenses.build_index SPDX_SOURCE

SPDX_SOURCE: spdx-full.json of the npm package spdx-license-list (`npm pack spdx-license-list@6.12.0`),
or the text/ folder of a spdx/license-list-data checkout. See criteria/license-index/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openaudit.licenses.similarity import build, index_path, read_source


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: python -m openaudit.licenses.build_index SPDX_SOURCE "
                         "(spdx-full.json of the npm package spdx-license-list, or license-list-data/text/)")
    src = Path(argv[1])
    spdx = read_source(src)
    out = index_path()
    if out is None:
        raise SystemExit("criteria folder not found")
    data = build(spdx, f"{len(spdx)} SPDX licence texts from {src.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out}: {len(spdx)} licences, {len(data)} bytes")
    return 0




if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
