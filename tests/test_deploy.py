"""deploy/: the manifests validate against the Kubernetes and KubeRay schemas, the launcher
config against Ray's own, the Dockerfiles pass hadolint, and what they all name agrees with the
project: Ray's version, the packages an image copies, the configuration keys and the custom
resources that place each stage."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from runtime.config import VigilConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
MANIFESTS = ("kuberay.yaml", "service.yaml", "models-job.yaml")
DOCKERFILES = ("Dockerfile", "Dockerfile.cuda")
KUBERNETES_VERSIONS = ("1.36", "1.37")
"""KubeRay 1.7.0 is built against Kubernetes 1.36; 1.37 is the newest kubernetes-validate has."""
CRD_SCHEMAS = {("ray.io/v1", "RayCluster"): "raycluster-v1.json"}
"""Vendored from KubeRay v1.7.0 (deploy/schemas/README.md)."""


def _pin(name: str) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        if requirement.startswith(f"{name}=="):
            return str(requirement.split("==", 1)[1])
    raise AssertionError(f"pyproject.toml pins no {name}")


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, doc)
        for name in MANIFESTS
        for doc in yaml.safe_load_all((DEPLOY / name).read_text())
        if doc is not None
    ]


def _one(kind: str) -> dict[str, Any]:
    (doc,) = [doc for _, doc in _documents() if doc["kind"] == kind]
    return doc


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields rejected, as `kubectl apply` rejects them by default
    (the API server would otherwise prune them silently)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


def _crd_errors(doc: dict[str, Any]) -> list[str]:
    name = CRD_SCHEMAS[(doc["apiVersion"], doc["kind"])]
    schema = _strict(json.loads((DEPLOY / "schemas" / name).read_text()))
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(doc)
    ]


def _groups(cluster: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "head", cluster["spec"]["headGroupSpec"]
    for group in cluster["spec"]["workerGroupSpecs"]:
        yield group["groupName"], group


def _ray_resources(text: str) -> dict[str, float]:
    """A `ray start --resources` value, read both as KubeRay reads it (surrounding quotes
    trimmed, then JSON) and as the shell hands it to `ray start` (the command line KubeRay
    writes); the two must agree."""
    parsed = json.loads(text.strip("'\"` "))
    (argument,) = shlex.split(f"--resources={text}")
    assert json.loads(argument.removeprefix("--resources=")) == parsed, text
    assert all(isinstance(v, int | float) and v > 0 for v in parsed.values()), text
    return {str(k): float(v) for k, v in parsed.items()}


def _offered() -> dict[str, dict[str, float]]:
    """Custom resources per node kind: the RayCluster's groups and the vigil serve pod."""
    offered = {
        name: _ray_resources(group["rayStartParams"].get("resources", "{}"))
        for name, group in _groups(_one("RayCluster"))
    }
    (container,) = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    found = re.search(r"--resources=('[^']*')", " ".join(container["args"]))
    assert found, "the vigil serve pod offers no custom resources"
    offered["serve"] = _ray_resources(found.group(1))
    return offered


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configuration from the files alone, whatever VIGIL_* the environment holds."""
    for key in [key for key in os.environ if key.startswith("VIGIL_")]:
        monkeypatch.delenv(key)


def _config(tmp_path: Path, text: str) -> VigilConfig:
    path = tmp_path / "vigil.toml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_objects_validate_against_the_kubernetes_schemas(version: str) -> None:
    checked = []
    for name, doc in _documents():
        if doc["apiVersion"].startswith("ray.io/"):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} {doc['kind']} (Kubernetes {version}): {error.message}")
        checked.append(doc["kind"])
    assert sorted(checked) == [
        "ConfigMap", "Deployment", "Job", "PersistentVolumeClaim", "PersistentVolumeClaim",
        "Service",
    ]  # fmt: skip


def test_ray_cluster_validates_against_the_kuberay_crd_schema() -> None:
    cluster = _one("RayCluster")
    assert _crd_errors(cluster) == []


def test_the_validators_reject_an_unknown_field() -> None:
    """A misspelt field fails both schemas: neither check passes whatever it is given."""
    cluster = copy.deepcopy(_one("RayCluster"))
    cluster["spec"]["workerGroupSpecs"][0]["rayStartParam"] = {}
    assert any("rayStartParam" in error for error in _crd_errors(cluster))
    deployment = copy.deepcopy(_one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["commands"] = ["true"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_ray_cluster_keeps_kuberays_rules_and_the_projects_ray() -> None:
    """What KubeRay's operator checks beyond the schema (validation.go), and the images."""
    cluster = _one("RayCluster")
    assert cluster["spec"]["rayVersion"] == _pin("ray")
    for name, group in _groups(cluster):
        params = group["rayStartParams"]
        assert "labels" not in params and not ("resources" in params and "resources" in group)
        if name != "head":
            assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
        (container,) = group["template"]["spec"]["containers"]
        gpus = container["resources"]["limits"].get("nvidia.com/gpu", 0)
        assert container["image"] == ("vigil:cuda" if gpus else "vigil:cpu"), name
    # The head runs Ray's control plane only: no actor may be placed there.
    assert cluster["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_config_places_each_stage_on_nodes_that_offer_its_resources(
    tmp_path: Path, clean_env: None
) -> None:
    shared = (DEPLOY / "vigil.toml").read_text()
    mapped = _one("ConfigMap")["data"]["vigil.toml"]
    assert tomllib.loads(mapped) == tomllib.loads(shared)
    config = _config(tmp_path, shared)
    offered = _offered()
    for stage, wanted in config.runtime.resources.items():
        assert any(
            all(offer.get(name, 0.0) >= amount for name, amount in wanted.items())
            for offer in offered.values()
        ), f"no node offers what {stage} asks for: {wanted}"
    launcher = yaml.safe_load((DEPLOY / "cluster.yaml").read_text())
    types = launcher["available_node_types"].values()
    for stage, wanted in config.runtime.resources.items():
        assert any(
            all(kind["resources"].get(name, 0) >= amount for name, amount in wanted.items())
            for kind in types
        ), f"no launcher node type offers what {stage} asks for: {wanted}"
    # The vLLM model is a folder on the GPU workers' volume.
    gpu = dict(_groups(_one("RayCluster")))["gpu"]["template"]["spec"]["containers"][0]
    mounts = [m["mountPath"] for m in gpu["volumeMounts"] if m["name"] == "models"]
    assert config.reaction.backend == "vllm" and config.reaction.model
    assert Path(config.reaction.model).parent == Path(mounts[0])


def test_launcher_config_validates_against_rays_schema() -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    launcher = yaml.safe_load((DEPLOY / "cluster.yaml").read_text())
    validate_config(prepare_config(launcher))  # what `ray up` checks before it starts anything
    commands = " ".join(
        [*launcher["head_setup_commands"]]
        + [c for kind in launcher["available_node_types"].values() for c in kind.get(
            "worker_setup_commands", [])]
    )  # fmt: skip
    assert set(re.findall(r"ray\[default\]==([\w.]+)", commands)) == {_pin("ray")}
    assert set(re.findall(r"vllm==([\w.]+)", commands)) == {_arg("Dockerfile.cuda", "VLLM_VERSION")}


def _arg(dockerfile: str, name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", (DEPLOY / dockerfile).read_text(), re.M)
    assert found, f"{dockerfile} has no ARG {name}"
    return found.group(1)


def _hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extra (scripts/setup.sh)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_passes_hadolint(dockerfile: str) -> None:
    run = subprocess.run(
        [_hadolint(), "--no-color", str(DEPLOY / dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_image_is_built_from_the_projects_own_files(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    assert _arg(dockerfile, "RAY_VERSION") == _pin("ray")
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (.+)$", text, re.M)
        for source in line.split()[:-1]
    }
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in patterns if (ROOT / p.rstrip("*")).is_dir()}
    assert packages | {"pyproject.toml", "README.md", "requirements"} <= copied
    lines = (DEPLOY / f"{dockerfile}.dockerignore").read_text().splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then only what the image copies back in
    assert {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")} == copied


def test_guide_configuration_snippets_use_real_keys(tmp_path: Path, clean_env: None) -> None:
    snippets = re.findall(r"```toml\n(.*?)```", (DEPLOY / "README.md").read_text(), re.S)
    assert snippets
    for snippet in snippets:
        _config(tmp_path, snippet)
