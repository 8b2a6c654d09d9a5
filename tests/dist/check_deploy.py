"""Checks deploy/kubernetes and deploy/docker with what runs here (tests/dist/check_deploy.sh):

- every manifest parses, and the built-in kinds validate strictly (unknown fields refused)
  against Kubernetes' own schemas, shipped offline by kubernetes-validate;
- the KEDA ScaledObject validates against the part of KEDA's CRD schema it uses (below);
- they agree with each other and with the worker: the grace period covers the manifest's
  longest time_limit and equals the systemd unit's TimeoutStopSec, no preStop hook delays the
  SIGTERM that starts the warm shutdown, the ScaledObject scales the Deployment on
  stem_queue_depth, the manifest in the ConfigMap is valid TOML naming tasks;
- the Dockerfile installs the release tarball with scripts/install_tarball.sh and defaults to
  the workspace's version.

Usage: python check_deploy.py ROOT"""

import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import kubernetes_validate
import yaml

# Transcribed from KEDA 2.x's ScaledObject CRD (keda.sh/v1alpha1), for the fields used here;
# anything else is refused, as a strict check would.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "name": {"type": "string"}, "envSourceContainerName": {"type": "string"}},
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                        },
                    },
                },
            },
        },
    },
}

# What KEDA's prometheus scaler requires of its metadata.
PROMETHEUS_METADATA = ("serverAddress", "query", "threshold")


def fail(message: str) -> None:
    sys.exit("check_deploy.py: " + message)


def seconds(duration: str) -> int:
    """`5m`, `30s`, `1h30m` -> seconds (the manifest's durations used here)."""
    parts = re.findall(r"(\d+)([hms])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        fail("cannot read the duration %r" % duration)
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def load(path: Path) -> List[Dict[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        fail("%s: not YAML: %s" % (path, e))
    for doc in docs:
        kind = doc.get("kind")
        if kind == "ScaledObject":
            errors = sorted(jsonschema.Draft7Validator(SCALED_OBJECT).iter_errors(doc), key=str)
            if errors:
                where = "/".join(str(p) for p in errors[0].absolute_path)
                fail("%s: ScaledObject %s: %s" % (path, where, errors[0].message))
        else:
            try:
                kubernetes_validate.validate(doc, "1.30.0", strict=True)
            except kubernetes_validate.ValidationError as e:
                fail("%s: %s %s: %s" % (path, kind, "/".join(str(p) for p in e.path), e.message))
    print("   %s: %s valid" % (path.name, ", ".join("%s/%s" % (d["kind"], d["metadata"]["name"]) for d in docs)))
    return docs


def main() -> None:
    root = Path(sys.argv[1])
    version = re.search(r'\[workspace\.package\][^\[]*?version = "([^"]+)"', (root / "Cargo.toml").read_text()).group(1)
    kube = root / "deploy" / "kubernetes"
    docs = {(d["kind"], d["metadata"]["name"]): d for f in ("worker.yaml", "keda.yaml") for d in load(kube / f)}

    deployment = docs[("Deployment", "stem-worker")]
    manifest = tomllib.loads(docs[("ConfigMap", "stem-manifest")]["data"]["stem.toml"])
    if not manifest.get("tasks"):
        fail("worker.yaml: the ConfigMap's stem.toml names no task")
    limits = [manifest.get("defaults", {}).get("time_limit")] + [t.get("time_limit") for t in manifest["tasks"].values()]
    longest = max(seconds(t) for t in limits if t)
    pod = deployment["spec"]["template"]["spec"]
    grace = pod["terminationGracePeriodSeconds"]
    if grace < longest + 10:
        fail("worker.yaml: terminationGracePeriodSeconds %d does not cover the longest time_limit (%ds) "
             "plus a margin" % (grace, longest))
    unit = (root / "deploy" / "systemd" / "stem-worker@.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))
    if stop != grace:
        fail("stem-worker@.service: TimeoutStopSec=%d, but worker.yaml's grace is %ds" % (stop, grace))
    if re.search(r"^KillMode=mixed$", unit, re.M) is None:
        fail("stem-worker@.service: KillMode must be mixed (SIGTERM to the worker alone)")
    for container in pod["containers"]:
        if "preStop" in container.get("lifecycle", {}):
            fail("worker.yaml: container %s has a preStop hook, which delays the warm shutdown" % container["name"])
        if container["args"][:1] != ["worker"]:
            fail("worker.yaml: container %s does not run `stem worker`" % container["name"])

    scaled = docs[("ScaledObject", "stem-worker")]["spec"]
    if scaled["scaleTargetRef"]["name"] != deployment["metadata"]["name"]:
        fail("keda.yaml: scaleTargetRef %r is not the Deployment" % scaled["scaleTargetRef"]["name"])
    if scaled.get("minReplicaCount", 0) > scaled.get("maxReplicaCount", 100):
        fail("keda.yaml: minReplicaCount is above maxReplicaCount")
    for trigger in scaled["triggers"]:
        meta = trigger["metadata"]
        if trigger["type"] != "prometheus" or any(k not in meta for k in PROMETHEUS_METADATA):
            fail("keda.yaml: a trigger is not prometheus with %s" % ", ".join(PROMETHEUS_METADATA))
        if "stem_queue_depth" not in meta["query"]:
            fail("keda.yaml: the query does not read stem_queue_depth")
        float(meta["threshold"])

    dockerfile = (root / "deploy" / "docker" / "Dockerfile").read_text()
    if not re.search(r"^ARG STEM_VERSION=%s$" % re.escape(version), dockerfile, re.M):
        fail("Dockerfile: ARG STEM_VERSION is not the workspace's version %s" % version)
    if not re.search(r"^RUN sh /tmp/stem/install_tarball\.sh ", dockerfile, re.M) \
            or "COPY scripts/install_tarball.sh dist/stem-${STEM_VERSION}-" not in dockerfile:
        fail("Dockerfile: it does not install the dist tarball with scripts/install_tarball.sh")
    print("   grace %ds = TimeoutStopSec (longest time_limit %ds); KEDA scales stem-worker on stem_queue_depth; "
          "Dockerfile installs stem %s with scripts/install_tarball.sh" % (grace, longest, version))


if __name__ == "__main__":
    main()
