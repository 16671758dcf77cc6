"""Write each service's OpenAPI document to a directory (no server needed: built from the apps)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out: Path) -> None:
    from medianest.authentication.app import create_app as auth_app
    from medianest.inference.app import create_app as inference_app
    from medianest.media_store.app import create_app as store_app

    out.mkdir(parents=True, exist_ok=True)
    for name, factory in (("auth", auth_app), ("store", store_app), ("inference", inference_app)):
        doc = factory().openapi()
        (out / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
