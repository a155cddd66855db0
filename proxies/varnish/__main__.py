"""`python -m proxies.varnish --launch FILE`: a shield or edge node as a real Varnish.

`python -m proxies.varnish --check FILE`: only compile the node's VCL (exit 2 if it does not).
"""

from __future__ import annotations

import sys
from pathlib import Path

from proxies.contract import NodeLaunch
from proxies.serve import main
from proxies.varnish.check import check
from proxies.varnish.node import create


def check_main(path: Path) -> None:
    launch = NodeLaunch.model_validate_json(path.read_text())
    error = check(launch)
    if error is not None:
        include = launch.cdn.vcl_include if launch.cdn else None
        print(f"{include or launch.name}: the VCL does not compile: {error}", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"] and len(sys.argv) == 3:
        check_main(Path(sys.argv[2]))
    else:
        main(create)
