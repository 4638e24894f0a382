"""Write the openAPIV3Schema of one version of a CustomResourceDefinition as JSON.

    python deploy/schemas/extract_crd.py CRD.yaml v1 deploy/schemas/raycluster-v1.json

The schema is kept as the CRD publishes it; tests/test_deploy.py makes it strict (unknown fields
rejected, as `kubectl apply` does by default) when it validates the manifests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def extract(crd_path: Path, version: str) -> dict[str, object]:
    crd = yaml.safe_load(crd_path.read_text())
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: dict[str, object] = entry["schema"]["openAPIV3Schema"]
            return schema
    raise SystemExit(f"{crd_path}: no version {version}")


if __name__ == "__main__":
    source, version, target = sys.argv[1:4]
    schema = extract(Path(source), version)
    Path(target).write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n")
