#!/usr/bin/env python3
"""Build the example container image and its offline trivy DB, without Docker or network.

    python examples/container/build.py            # from the repository root

writes (git-ignored):
    examples/container/image.tar       docker-archive ("docker save") image, 2 layers:
                                       layers/base (Debian 12.5 os-release + dpkg status),
                                       layers/python (requests 2.19.1, PyYAML 5.1 dist-info)
    examples/container/trivy-cache/    db/trivy.db + db/metadata.json from advisories.yaml

Options: --out-dir DIR (default: this directory), --oci (also write an OCI layout
directory image-oci/), --db-age-days N (make the DB's UpdatedAt N days old).
The builders live in tests/support/{imagebuild,trivydb,bbolt}.py (stdlib + PyYAML).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repository root, for tests.support

from tests.support.imagebuild import docker_archive, oci_layout, tree_layer  # noqa: E402
from tests.support.trivydb import write_trivy_db  # noqa: E402

LAYERS = ("base", "python")  # bottom first
TAG = "posture-gate/example-webapp:latest"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=HERE)
    ap.add_argument("--oci", action="store_true")
    ap.add_argument("--db-age-days", type=float, default=0.0)
    args = ap.parse_args(argv)
    out: Path = args.out_dir
    layers = [tree_layer(HERE / "layers" / name) for name in LAYERS]
    history = [f"COPY layers/{name} /" for name in LAYERS]
    image = docker_archive(out / "image.tar", layers, tag=TAG, history=history)
    if args.oci:
        oci_layout(out / "image-oci", layers, history=history)
    updated = datetime.now(timezone.utc).replace(microsecond=0) \
        - timedelta(days=args.db_age_days)
    cache = out / "trivy-cache"
    write_trivy_db(cache, HERE / "advisories.yaml", updated_at=updated)
    print(f"image: {image.path} ({TAG})")
    for n, diff_id in enumerate(image.diff_ids):
        print(f"  layer {n + 1} {LAYERS[n]}: {diff_id}")
    print(f"trivy DB: {cache / 'db' / 'trivy.db'} (UpdatedAt {updated:%Y-%m-%dT%H:%M:%SZ})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
