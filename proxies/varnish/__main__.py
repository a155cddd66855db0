"""`python -m proxies.varnish --launch FILE`: a shield or edge node as a real Varnish."""

from __future__ import annotations

from proxies.serve import main
from proxies.varnish.node import create

if __name__ == "__main__":
    main(create)
