"""The Kubernetes manifests, checked as strictly as a cluster would check them, offline.

Each overlay of k8s/ is built with kustomize at the pinned version; every object is
validated against the JSON schemas of the pinned Kubernetes version in strict mode
(unknown fields rejected; a kind without a schema is a failure, not kubernetes-validate's
warning), and every SparkApplication against the Spark Operator's own CRD schema, with
unknown fields rejected wherever the CRD does not preserve them. Broken copies of every
kind must fail, naming the field. `make setup` installs kustomize and the CRD (cached).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import bcrypt
import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml

from jobs.settings import Settings, read_env_file
from jobs.spark import jvm_launch_conf
from tests.conftest import ROOT

K8S = ROOT / "k8s"
OVERLAYS = ("local", "prod")
VERSIONS = read_env_file(ROOT / "versions.env")
KUBERNETES_VERSION = VERSIONS["KUBERNETES_SCHEMA_VERSION"]
CACHE = Path(
    os.environ.get("LAKEHOUSE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lakehouse"
)
KUSTOMIZE = CACHE / f"kustomize-{VERSIONS['KUSTOMIZE_VERSION']}" / "kustomize"
SPARK_CRD = (
    CACHE / f"spark-operator-{VERSIONS['SPARK_OPERATOR_VERSION']}" / "sparkoperator.k8s.io_sparkapplications.yaml"
)
OBJECT_META = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
SECRET_NAMES = (
    "minio-root",
    "lakehouse-jobs-s3",
    "lakehouse-jobs-trino",
    "trino",
    "trino-auth",
    "hive-metastore",
    "postgres",
    "airflow",
    "superset",
)
# Secrets of files rather than env files: key -> the file in the overlay's secrets/.
SECRET_FILES = {"trino-auth": {"keystore.pem": "trino-keystore.pem", "password.db": "trino-password.db"}}
POD_OWNERS = ("Deployment", "StatefulSet", "Job")


# -- building ------------------------------------------------------------------------
def kustomize(*args: str) -> subprocess.CompletedProcess:
    assert KUSTOMIZE.is_file(), f"{KUSTOMIZE} is missing: run `make setup`"
    return subprocess.run([str(KUSTOMIZE), *args], check=False, capture_output=True, text=True, timeout=120)


def build(directory: Path) -> list[dict]:
    result = kustomize("build", str(directory))
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory) -> Path:
    """k8s/ without anyone's local secret files, with freshly generated ones (as a
    deployer makes them with scripts/k8s_secrets.sh)."""
    copied = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copied, ignore=lambda d, names: ["secrets"] if Path(d).parent.name == "overlays" else [])
    for overlay in OVERLAYS:
        subprocess.run(
            ["bash", str(ROOT / "scripts/k8s_secrets.sh"), overlay],
            check=True,
            capture_output=True,
            env={**os.environ, "K8S_DIR": str(copied)},
        )
    return copied


@pytest.fixture(scope="module")
def built(k8s_copy) -> dict[str, list[dict]]:
    return {overlay: build(k8s_copy / "overlays" / overlay) for overlay in OVERLAYS}


def all_objects(built) -> list[tuple[str, dict]]:
    return [(overlay, obj) for overlay, objects in built.items() for obj in objects]


def where(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


# -- the validators --------------------------------------------------------------------
def strict_crd_schema(schema: dict, root: bool = True) -> dict:
    """A CRD's openAPIV3Schema as JSON Schema that rejects unknown fields, as the API
    server does (strict field validation): every object without its own
    additionalProperties gets `false`, unless it says x-kubernetes-preserve-unknown-fields.
    The root's metadata is checked as the API server checks it: as an ObjectMeta."""
    schema = copy.deepcopy(schema)

    def visit(node: dict) -> None:
        for key in ("properties", "patternProperties"):
            for child in node.get(key, {}).values():
                visit(child)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                visit(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                visit(child)
        if (
            node.get("type") == "object"
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False

    visit(schema)
    if root:
        schema["properties"]["metadata"] = {"$ref": OBJECT_META}
    return schema


@cache
def spark_application_validator() -> jsonschema.Draft202012Validator:
    assert SPARK_CRD.is_file(), f"{SPARK_CRD} is missing: run `make setup`"
    crd = yaml.safe_load(SPARK_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    registry = referencing.Resource.from_contents(kubernetes_definitions()) @ referencing.Registry()
    return jsonschema.Draft202012Validator(strict_crd_schema(version["schema"]["openAPIV3Schema"]), registry=registry)


SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"


class Invalid(Exception):
    """An object failed validation: every error as (path, message), best match first."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{path or '(object)'}: {message}" for path, message in errors))
        self.errors = errors

    def names(self, text: str) -> bool:
        return any(text in message for _, message in self.errors)


@cache
def kubernetes_validator(kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    """kubernetes-validate's strict schema for a kind (its file naming); a kind it has no
    schema for is an error here, where its command line only warns."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = SCHEMAS / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        raise Invalid([("kind", f"no schema for {kind} ({api_version}) in Kubernetes {KUBERNETES_VERSION}")])
    schema = json.loads(path.read_text())
    registry = referencing.Resource.from_contents(kubernetes_definitions()) @ referencing.Registry()
    return jsonschema.Draft202012Validator(schema, registry=referencing.Resource.from_contents(schema) @ registry)


@cache
def kubernetes_definitions() -> dict:
    assert SCHEMAS.is_dir(), f"kubernetes-validate has no schemas for Kubernetes {KUBERNETES_VERSION}"
    return json.loads((SCHEMAS / "_definitions.json").read_text())


def validate(obj: dict) -> None:
    """Raise Invalid unless the object is valid for the pinned cluster."""
    if obj.get("kind") == "SparkApplication" and obj.get("apiVersion") == "sparkoperator.k8s.io/v1beta2":
        validator = spark_application_validator()
    else:
        validator = kubernetes_validator(obj["kind"], obj["apiVersion"])
    errors = list(validator.iter_errors(obj))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise Invalid(
            [(".".join(map(str, e.absolute_path)), e.message) for e in [best, *(e for e in errors if e is not best)]]
        )


# -- the overlays ----------------------------------------------------------------------
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_builds_the_whole_stack(built, overlay):
    names = {where(obj) for obj in built[overlay]}
    for expected in (
        "StatefulSet/minio",
        "StatefulSet/postgres",
        "Deployment/hive-metastore",
        "Job/hive-metastore-schema",
        "Deployment/trino-coordinator",
        "Deployment/trino-worker",
        "ConfigMap/trino-catalogs",
        "Deployment/superset",
        "Deployment/airflow-scheduler",
        "SparkApplication/lakehouse-curate",
        "ServiceAccount/spark-driver",
        "Role/spark-driver",
        "RoleBinding/spark-driver",
    ):
        assert expected in names, f"{overlay}: {expected} missing"
    assert {obj["metadata"].get("namespace") for obj in built[overlay] if obj["kind"] != "Namespace"} == {"lakehouse"}


def test_the_pinned_kustomize_is_the_one_used():
    result = kustomize("version")
    assert result.returncode == 0 and result.stdout.strip() == VERSIONS["KUSTOMIZE_VERSION"], result.stdout


def test_every_object_validates_strictly_for_the_pinned_kubernetes_and_spark_operator(built):
    failures = []
    for overlay, obj in all_objects(built):
        try:
            validate(obj)
        except Invalid as error:
            failures.append(f"{overlay}: {where(obj)}: {error}")
    assert failures == []


def test_the_prod_overlay_sizes_replicates_and_spreads(built):
    local = {where(obj): obj for obj in built["local"]}
    prod = {where(obj): obj for obj in built["prod"]}
    for name in ("StatefulSet/minio", "Deployment/trino-worker", "Deployment/superset"):
        assert prod[name]["spec"]["replicas"] > local[name]["spec"]["replicas"], name
        assert "podAntiAffinity" in prod[name]["spec"]["template"]["spec"]["affinity"], name
    minio = prod["StatefulSet/minio"]["spec"]
    assert "{0...3}" in " ".join(minio["template"]["spec"]["containers"][0]["args"])  # distributed: 4 nodes
    for overlay, objects in built.items():  # every long-running container is sized
        for obj in objects:
            if obj["kind"] in POD_OWNERS:
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], (
                        f"{overlay}: {where(obj)}"
                    )
    assert prod["SparkApplication/lakehouse-curate"]["spec"]["executor"]["instances"] == 8


def test_the_spark_pods_start_their_jvms_as_a_local_run_starts_its_driver(built):
    """GC and JIT flags measured locally (jobs/spark.py) are the pods' too, driver and executors."""
    conf = jvm_launch_conf(Settings())
    local = {
        role: [flag for flag in conf[f"spark.{role}.extraJavaOptions"].split() if flag.startswith("-XX:")]
        for role in ("driver", "executor")
    }
    assert "-XX:Tier4InvocationThreshold=50000" in local["driver"]
    assert local["executor"] == local["driver"]  # a standalone cluster's executors too
    for overlay, objects in built.items():
        (app,) = [obj for obj in objects if obj["kind"] == "SparkApplication"]
        for role in ("driver", "executor"):
            flags = [flag for flag in app["spec"][role]["javaOptions"].split() if flag.startswith("-XX:")]
            assert flags == local[role], f"{overlay}: {role}"


# -- broken copies must fail, naming the field -------------------------------------------
def typo(name: str) -> str:
    return name[0] + name[2] + name[1] + name[3:]


def first_field(obj: dict) -> tuple[dict, str]:
    """(parent, key) of a field to break: the first field of spec, else the first
    top-level field after the header, else metadata.name."""
    if isinstance(obj.get("spec"), dict):
        return obj["spec"], min(obj["spec"])
    rest = sorted(set(obj) - {"apiVersion", "kind", "metadata"})
    return (obj, rest[0]) if rest else (obj["metadata"], "name")


# A required field per kind (what a cluster refuses the object without); None where the
# schema requires nothing beyond what kubernetes-validate needs to pick it.
REQUIRED = {
    "Deployment": ("spec", "selector"),
    "StatefulSet": ("spec", "selector"),
    "Job": ("spec", "template"),
    "Service": ("spec.ports.0", "port"),
    "Role": ("rules.0", "verbs"),
    "RoleBinding": ("", "roleRef"),
    "SparkApplication": ("spec", "sparkVersion"),
    "ConfigMap": None,
    "Secret": None,
    "Namespace": None,
    "ServiceAccount": None,
}


def one_of_each_kind(built) -> dict[str, dict]:
    return {obj["kind"]: obj for _, obj in reversed(all_objects(built))}


def lookup(obj: dict, dotted: str):
    for part in filter(None, dotted.split(".")):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def test_every_kind_in_the_stack_has_a_broken_copy_check(built):
    assert set(one_of_each_kind(built)) == set(REQUIRED)


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_a_typo_in_a_field_name_fails_and_names_it(built, kind):
    broken = copy.deepcopy(one_of_each_kind(built)[kind])
    parent, key = first_field(broken)
    parent[typo(key)] = parent.pop(key)
    with pytest.raises(Invalid) as caught:
        validate(broken)
    assert caught.value.names(f"'{typo(key)}'"), caught.value


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_a_value_of_the_wrong_type_fails_and_names_the_field(built, kind):
    broken = copy.deepcopy(one_of_each_kind(built)[kind])
    parent, key = first_field(broken)
    value = parent[key]
    parent[key] = (
        {"not": "a string"}
        if isinstance(value, str)
        else "not a number"
        if isinstance(value, int)
        else "not a list or map"
    )
    with pytest.raises(Invalid) as caught:
        validate(broken)
    assert any(path.split(".")[-1] == key for path, _ in caught.value.errors), caught.value


@pytest.mark.parametrize("kind", sorted(k for k, v in REQUIRED.items() if v))
def test_a_missing_required_field_fails_and_names_it(built, kind):
    broken = copy.deepcopy(one_of_each_kind(built)[kind])
    required = REQUIRED[kind]
    assert required is not None  # parametrized over the kinds with a required field
    parent_path, key = required
    del lookup(broken, parent_path)[key]
    with pytest.raises(Invalid) as caught:
        validate(broken)
    assert caught.value.names(f"'{key}' is a required property"), caught.value


def test_metadata_of_a_spark_application_is_checked_like_any_object(built):
    broken = copy.deepcopy(one_of_each_kind(built)["SparkApplication"])
    broken["metadata"]["lables"] = broken["metadata"].pop("labels")
    with pytest.raises(Invalid, match="'lables'"):
        validate(broken)


@pytest.mark.parametrize("role, field", [("driver", "serviceAccount"), ("executor", "instances")])
def test_a_typo_deep_in_a_spark_application_fails_and_names_it(built, role, field):
    broken = copy.deepcopy(one_of_each_kind(built)["SparkApplication"])
    broken["spec"][role][typo(field)] = broken["spec"][role].pop(field)
    with pytest.raises(Invalid) as caught:
        validate(broken)
    assert caught.value.names(f"'{typo(field)}'"), caught.value


def test_kinds_without_a_schema_fail_instead_of_warning():
    with pytest.raises(Invalid, match="no schema for ScheduledSparkApplication"):
        validate(
            {
                "apiVersion": "sparkoperator.k8s.io/v1beta2",
                "kind": "ScheduledSparkApplication",
                "metadata": {"name": "x"},
                "spec": {},
            }
        )


# -- references, secrets, images --------------------------------------------------------
def references(obj: dict) -> list[tuple[str, str]]:
    """(kind, name) of every ConfigMap, Secret and ServiceAccount an object points at."""
    found: list[tuple[str, str]] = []

    def visit(node, key=""):
        if isinstance(node, dict):
            for ref_key, kind in (
                ("configMapRef", "ConfigMap"),
                ("secretRef", "Secret"),
                ("secretKeyRef", "Secret"),
                ("configMapKeyRef", "ConfigMap"),
            ):
                if isinstance(node.get(ref_key), dict):
                    found.append((kind, node[ref_key]["name"]))
            if key in ("configMap",) and "name" in node:
                found.append(("ConfigMap", node["name"]))
            if key == "secret" and "secretName" in node:
                found.append(("Secret", node["secretName"]))
            for child_key, child in node.items():
                visit(child, child_key)
            for sa_key in ("serviceAccountName", "serviceAccount"):
                if isinstance(node.get(sa_key), str):
                    found.append(("ServiceAccount", node[sa_key]))
        elif isinstance(node, list):
            for child in node:
                visit(child, key)

    visit(obj.get("spec", {}))
    for subject in obj.get("subjects", []):
        found.append((subject["kind"], subject["name"]))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_names_an_object_of_the_build(built, overlay):
    names = {(obj["kind"], obj["metadata"]["name"]) for obj in built[overlay]}
    dangling = sorted({(where(obj), ref) for obj in built[overlay] for ref in references(obj) if ref not in names})
    assert dangling == []


def test_secrets_hold_only_the_generated_values_and_no_committed_file_holds_one(built, k8s_copy):
    for overlay, objects in built.items():
        secrets = {base_name(obj["metadata"]["name"]): obj for obj in objects if obj["kind"] == "Secret"}
        assert sorted(secrets) == sorted(SECRET_NAMES)
        for name, secret in secrets.items():
            directory = k8s_copy / "overlays" / overlay / "secrets"
            generated = (
                {key: (directory / file).read_text() for key, file in SECRET_FILES[name].items()}
                if name in SECRET_FILES
                else read_env_file(directory / f"{name}.env")
            )
            assert "stringData" not in secret
            decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
            assert decoded == generated and all(len(value) >= 20 for value in decoded.values()), f"{overlay}: {name}"
    for path in K8S.rglob("*"):
        if not path.is_file() or "secrets" in path.relative_to(K8S).parts[:3]:
            continue  # the git-ignored secret files of a deployer
        if path.suffix == ".yaml":
            assert not [
                doc
                for doc in yaml.safe_load_all(path.read_text())
                if isinstance(doc, dict) and doc.get("kind") == "Secret" and "apiVersion" in doc
            ], path
        if path.name.endswith(".env.example"):  # names only: every value left empty
            lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
            assert lines and all(line.endswith("=") for line in lines), path


def base_name(generated_name: str) -> str:
    """`airflow-6dm8dct9fg` -> `airflow` (kustomize's content hash suffix)."""
    return generated_name if generated_name in SECRET_NAMES else generated_name.rsplit("-", 1)[0]


def test_the_secret_files_of_the_overlays_are_ignored_by_git():
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], check=False, cwd=ROOT).returncode == 0

    assert ignored("k8s/overlays/local/secrets/trino.env") and ignored("k8s/overlays/prod/secrets/airflow.env")
    assert not ignored("k8s/secrets.example/trino.env.example")


def images(obj: dict) -> list[str]:
    if obj["kind"] == "SparkApplication":
        spec = obj["spec"]
        return [spec["image"], *(spec[role].get("image") for role in ("driver", "executor") if spec[role].get("image"))]
    if obj["kind"] in POD_OWNERS:
        pod = obj["spec"]["template"]["spec"]
        return [c["image"] for c in pod["containers"] + pod.get("initContainers", [])]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_pinned(built, overlay):
    found = [image for obj in built[overlay] for image in images(obj)]
    assert found
    for image in found:
        if "@sha256:" in image:
            continue  # pinned by digest
        _, colon, tag = image.rpartition(":")
        assert colon and tag != "latest" and "/" not in tag, f"{image}: no pinned tag"


def test_an_overlay_can_retag_the_jobs_image_of_the_spark_application(k8s_copy, tmp_path):
    overlay = k8s_copy / "overlays" / "retagged"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../local]\nimages:\n  - {name: lakehouse/jobs, newTag: 0.2.0}\n"
    )
    (app,) = [obj for obj in build(overlay) if obj["kind"] == "SparkApplication"]
    assert app["spec"]["image"] == "lakehouse/jobs:0.2.0"


# -- what the manifests say, beside what the repository says ----------------------------
def test_trino_on_kubernetes_has_the_local_access_rules_and_reads_the_lake_through_the_metastore(built):
    objects = {where(obj): obj for obj in built["prod"]}
    coordinator = objects["ConfigMap/trino-coordinator"]["data"]
    assert json.loads(coordinator["rules.json"]) == json.loads((ROOT / "trino/etc/rules.json").read_text())
    worker = objects["ConfigMap/trino-worker"]["data"]["config.properties"]
    assert "coordinator=false" in worker and "access-control" not in worker
    assert "node-scheduler.include-coordinator=false" in coordinator["config.properties"]
    catalog = objects["ConfigMap/trino-catalogs"]["data"]["delta.properties"]
    assert "hive.metastore.uri=thrift://hive-metastore:9083" in catalog
    assert "s3.aws-secret-key=${ENV:TRINO_S3_SECRET_KEY}" in catalog


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def mounted_from(pod: dict, container: dict, path: str) -> list[tuple[str, str]]:
    """(kind, name) of the ConfigMaps and Secrets behind the file `path` in a container:
    the volume of its longest mount prefix, every source of a projected one."""
    (mount,) = sorted(
        (m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")),
        key=lambda m: len(m["mountPath"]),
    )[-1:]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    sources = volume["projected"]["sources"] if "projected" in volume else [volume]
    return [
        ("Secret", source["secret"].get("secretName") or source["secret"].get("name"))
        if "secret" in source
        else ("ConfigMap", source["configMap"]["name"])
        if "configMap" in source
        else ("other", "")
        for source in sources
    ]


def test_trino_clients_log_in_with_a_password_over_https_and_the_nodes_talk_http_with_the_shared_secret(built):
    for overlay, objects in built.items():
        by_name = {where(obj): obj for obj in objects}
        coordinator = by_name["ConfigMap/trino-coordinator"]["data"]
        config = properties(coordinator["config.properties"])
        assert config["http-server.authentication.type"] == "PASSWORD" and config["http-server.https.enabled"] == "true"
        assert "http-server.authentication.allow-insecure-over-http" not in config  # off: HTTP refuses clients
        assert config["discovery.uri"] == f"http://trino:{config['http-server.http.port']}"
        authenticator = properties(coordinator["password-authenticator.properties"])
        assert authenticator["password-authenticator.name"] == "file"
        worker = by_name["ConfigMap/trino-worker"]["data"]
        assert set(worker) == {"config.properties"}  # the authenticator crashes a worker, as access control does
        worker_config = properties(worker["config.properties"])
        assert (
            "http-server.https.enabled" not in worker_config and "http-server.authentication.type" not in worker_config
        )
        for node in (config, worker_config):
            assert node["internal-communication.shared-secret"] == "${ENV:TRINO_SHARED_SECRET}"
            assert node["discovery.uri"] == config["discovery.uri"]

        # Clients reach the HTTPS port through the Service; the workers the HTTP one.
        service = {p["name"]: p for p in by_name["Service/trino"]["spec"]["ports"]}
        pod = by_name["Deployment/trino-coordinator"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["https"] == int(config["http-server.https.port"]) and service["https"]["targetPort"] == "https"
        assert ports["http"] == int(config["http-server.http.port"]) and service["http"]["targetPort"] == "http"

        # The key and the password hashes come from a Secret, never a ConfigMap.
        for path in (config["http-server.https.keystore.path"], authenticator["file.password-file"]):
            (source,) = mounted_from(pod, container, path)
            assert source[0] == "Secret" and base_name(source[1]) == "trino-auth", f"{overlay}: {path}"
            assert path.rsplit("/", 1)[1] in SECRET_FILES["trino-auth"]
        assert all(kind == "ConfigMap" for kind, _ in mounted_from(pod, container, "/etc/trino/config.properties"))


def test_the_jobs_log_in_to_trino_as_the_pipeline_with_a_password_from_a_secret_over_https(built):
    for overlay, objects in built.items():
        by_name = {where(obj): obj for obj in objects}
        settings = by_name["ConfigMap/lakehouse-jobs"]["data"]
        assert settings["LAKEHOUSE_TRINO_SCHEME"] == "https" and settings["LAKEHOUSE_TRINO_USER"] == "pipeline"
        https = {p["name"]: p["port"] for p in by_name["Service/trino"]["spec"]["ports"]}["https"]
        assert settings["LAKEHOUSE_TRINO_HOST"] == "trino" and int(settings["LAKEHOUSE_TRINO_PORT"]) == https
        assert "LAKEHOUSE_TRINO_PASSWORD" not in settings
        secrets = {base_name(obj["metadata"]["name"]): obj for obj in objects if obj["kind"] == "Secret"}
        ca_file = settings["LAKEHOUSE_TRINO_CA_FILE"]
        (app,) = [obj for obj in objects if obj["kind"] == "SparkApplication"]
        template = yaml.safe_load((K8S / "spark-submit/driver-pod.yaml").read_text())
        (submitted,) = template["spec"]["containers"]
        for pod, container in ((app["spec"], app["spec"]["driver"]), (template["spec"], submitted)):
            from_secrets = {
                key
                for ref in container["envFrom"]
                if "secretRef" in ref
                for key in secrets[base_name(ref["secretRef"]["name"])]["data"]
            }
            assert "LAKEHOUSE_TRINO_PASSWORD" in from_secrets, overlay
            assert mounted_from(pod, container, ca_file) == [("ConfigMap", "trino-ca")], overlay
        (ca,) = [obj for obj in objects if where(obj) == "ConfigMap/trino-ca"]
        assert ca_file.rsplit("/", 1)[1] in ca["data"] and "PRIVATE KEY" not in ca["data"][ca_file.rsplit("/", 1)[1]]


def test_superset_logs_in_to_trino_as_the_analyst_with_a_password_from_its_secret(built):
    objects = {where(obj): obj for obj in built["local"]}
    pod = objects["Deployment/superset"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TRINO_USER"] == "analyst" and env["TRINO_HOST"] == "trino"
    assert int(env["TRINO_PORT"]) == {p["name"]: p["port"] for p in objects["Service/trino"]["spec"]["ports"]}["https"]
    assert mounted_from(pod, container, env["TRINO_CA_FILE"]) == [("ConfigMap", "trino-ca")]
    (secret,) = [ref["secretRef"]["name"] for ref in container["envFrom"]]
    (superset,) = [obj for obj in built["local"] if obj["kind"] == "Secret" and obj["metadata"]["name"] == secret]
    assert "TRINO_PASSWORD" in superset["data"] and "TRINO_PASSWORD" not in env


def test_trinos_password_file_holds_bcrypt_hashes_of_the_passwords_its_clients_get(built):
    for overlay, objects in built.items():
        secrets = {base_name(obj["metadata"]["name"]): obj for obj in objects if obj["kind"] == "Secret"}
        lines = base64.b64decode(secrets["trino-auth"]["data"]["password.db"]).decode().splitlines()
        hashes = dict(line.split(":", 1) for line in lines)
        passwords = {
            "pipeline": secrets["lakehouse-jobs-trino"]["data"]["LAKEHOUSE_TRINO_PASSWORD"],
            "analyst": secrets["superset"]["data"]["TRINO_PASSWORD"],
        }
        assert set(hashes) == set(passwords), overlay  # no admin: the rules name pipeline and analyst only
        for user, password in passwords.items():
            assert hashes[user].startswith("$2y$10$"), f"{overlay}: {user}"  # Trino's bcrypt prefix, cost 10
            assert bcrypt.checkpw(base64.b64decode(password), b"$2b$" + hashes[user][4:].encode()), f"{overlay}: {user}"
        keystore = base64.b64decode(secrets["trino-auth"]["data"]["keystore.pem"]).decode()
        assert "PRIVATE KEY-----" in keystore and "CERTIFICATE-----" in keystore


def test_no_secret_value_is_written_into_the_built_manifests_outside_their_secrets(built):
    for overlay, objects in built.items():
        values = {
            base64.b64decode(value).decode()
            for obj in objects
            if obj["kind"] == "Secret"
            for value in obj["data"].values()
        }
        # Every password, key and hash, and each line of the files (the key's body, a hash).
        needles = {line for value in values for line in value.splitlines() if len(line) >= 20} | values
        for obj in objects:
            if obj["kind"] == "Secret" or where(obj) == "ConfigMap/trino-ca":
                continue  # the certificate alone: public, and a line of the keystore
            text = json.dumps(obj)
            leaked = sorted(needle[:8] + "..." for needle in needles if needle in text)
            assert not leaked and "PRIVATE KEY" not in text and "$2y$" not in text, f"{overlay}: {where(obj)}: {leaked}"


def test_the_jobs_settings_on_kubernetes_are_settings_the_jobs_know(built):
    from jobs.settings import _ENV_FIELDS

    (config,) = [obj for obj in built["local"] if where(obj) == "ConfigMap/lakehouse-jobs"]
    known = {f"LAKEHOUSE_{name.upper()}" for name in _ENV_FIELDS}
    assert set(config["data"]) <= known
    assert config["data"]["LAKEHOUSE_SPARK_MASTER"].startswith("k8s://")  # else the driver runs local[*]
    for secret in ("lakehouse-jobs-s3", "lakehouse-jobs-trino"):
        secret_keys = read_env_file(K8S / "secrets.example" / f"{secret}.env.example")
        assert set(secret_keys) <= known and not set(secret_keys) & set(config["data"]), secret


def test_the_spark_application_runs_the_curation_job_of_the_image(built):
    (app,) = [obj for obj in built["local"] if obj["kind"] == "SparkApplication"]
    spec = app["spec"]
    assert spec["mainApplicationFile"] == "local:///opt/lakehouse/jobs/curation/job.py"
    assert (ROOT / "jobs/curation/job.py").is_file()
    assert spec["arguments"][:2] == ["run", "--start"] and spec["sparkVersion"] == "4.1.1"
    assert spec["driver"]["serviceAccount"] == "spark-driver"
    assert "spark.jars.packages" not in spec.get("sparkConf", {})  # jars are baked into the image


def test_the_spark_submit_driver_template_is_a_valid_pod_naming_objects_of_the_stack(built):
    (template,) = yaml.safe_load_all((K8S / "spark-submit/driver-pod.yaml").read_text())
    validate(template)
    names = {(obj["kind"], obj["metadata"]["name"]) for obj in built["prod"]}
    assert references(template) and set(references(template)) <= names


def test_what_the_kubernetes_dag_submits_validates_against_the_crd():
    sys.path.insert(0, str(ROOT / "dags"))
    try:
        from lakehouse_k8s import curate_application
    finally:
        sys.path.remove(str(ROOT / "dags"))
    app = curate_application("{{ data_interval_start | ds }}", "{{ data_interval_end | ds }}", "lakehouse/jobs:0.1.0")
    validate(app)
    assert app["spec"]["arguments"] == [
        "run",
        "--start",
        "{{ data_interval_start | ds }}",
        "--end",
        "{{ data_interval_end | ds }}",
    ]
    assert {"name": "LAKEHOUSE_TRINO_REGISTER", "value": "false"} in app["spec"]["driver"]["env"]
