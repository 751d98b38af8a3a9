"""The one settings object.

Everything configurable (endpoints, buckets, credentials, Spark resources) is read
here, once, from three layers — later ones win:

1. the defaults below,
2. an env file (``LAKEHOUSE_ENV_FILE``, default ``.local/lakehouse.env``, written by
   ``make up`` for the local stack; on Kubernetes the variables come from Secrets),
3. the process environment.

No other module reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobs.locations import raw_file_location

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = PROJECT_ROOT / "versions.env"
DEFAULT_ENV_FILE = Path(".local/lakehouse.env")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are ignored."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: expected KEY=VALUE, got {raw!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Versions:
    delta: str
    delta_artifact: str
    hadoop_aws: str
    aws_sdk_bundle: str
    trino: str

    @classmethod
    def load(cls, path: Path = VERSIONS_FILE) -> Versions:
        v = read_env_file(path)
        return cls(
            delta=v["DELTA_VERSION"],
            delta_artifact=v["DELTA_ARTIFACT"],
            hadoop_aws=v["HADOOP_AWS_VERSION"],
            aws_sdk_bundle=v["AWS_SDK_BUNDLE_VERSION"],
            trino=v["TRINO_VERSION"],
        )

    @property
    def spark_packages(self) -> list[str]:
        """Maven coordinates of the JVM artifacts the jobs need (resolved by Ivy)."""
        return [
            f"io.delta:{self.delta_artifact}:{self.delta}",
            f"org.apache.hadoop:hadoop-aws:{self.hadoop_aws}",
            f"software.amazon.awssdk:bundle:{self.aws_sdk_bundle}",
        ]


@dataclass(frozen=True)
class Settings:
    # Where the lake lives: s3a://<bucket> on the object store, or a local directory
    # (file:///...) for a run with no servers at all.
    warehouse: str = "s3a://lakehouse"
    raw_bucket: str = "enriched-events"
    # Where raw files are read from: "" means s3a://<raw_bucket>; or a local directory
    # (/dir or file:///dir).
    raw_uri: str = ""
    lake_bucket: str = "lakehouse"

    s3_endpoint: str = "http://127.0.0.1:9000"  # the endpoint this process uses (the watch's choice)
    # Failover: every endpoint serving the same buckets (replicated by the store itself),
    # in order of preference, comma-separated, primary first; "" means s3_endpoint alone.
    # One set of credentials serves them all (site replication replicates the users).
    s3_endpoints: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = field(default="", repr=False)
    s3_secret_key: str = field(default="", repr=False)
    # The upstream loader's identity: only `lakehouse generate` writes raw events.
    loader_s3_access_key: str = field(default="", repr=False)
    loader_s3_secret_key: str = field(default="", repr=False)

    trino_host: str = "127.0.0.1"
    trino_port: int = 8090
    trino_scheme: str = "https"  # Trino takes passwords over HTTPS only
    trino_ca_file: str = ""  # the certificate that signed Trino's ("" means the system's CAs)
    # Two identities: the jobs write as `pipeline`; reports read as the read-only `analyst`.
    trino_user: str = "pipeline"
    trino_password: str = field(default="", repr=False)
    trino_analyst_user: str = "analyst"
    trino_analyst_password: str = field(default="", repr=False)
    # The catalog reading the primary object store endpoint; a backup endpoint's is the same
    # name with "_backup" (see serving_catalog), both over the one replicated metastore.
    trino_catalog: str = "delta"
    trino_register: bool = True  # register written tables in Trino's catalog

    spark_master: str = "local[*]"
    # In local mode the driver's heap is every task's: 2g holds the 1.3M-event day (peak
    # RSS 2.9 GiB with 2g, 3.5 with 4g) and the 5.2M one (3.4 GiB), spilling as it must.
    spark_driver_memory: str = "2g"
    spark_driver_java_options: str = ""  # added to the driver JVM's options (e.g. a JFR recording)
    spark_shuffle_partitions: int = 8
    ivy_cache: str = str(Path.home() / ".cache" / "lakehouse" / "ivy")

    # The curation job
    # The definitions (jobs/definitions.py): contracts, gold models and seeds under one
    # directory, and the serving views ("" means this project's models/ and trino/views/)
    definitions_dir: str = ""
    views_dir: str = ""
    expectations_dir: str = ""  # "" means expectations/ of this project (the GE context)
    grace_days: int = 2  # late-landing files in the folders of this many earlier days are picked up
    look_back_days: int = 3  # how far before a batch's dates the MERGE looks for duplicates
    lock_wait_seconds: float = 60
    lock_lease_seconds: float = 30
    # `lakehouse maintain` keeps the files of older table versions this long (VACUUM): a run
    # can be rolled back while it is younger than this.
    retention_days: int = 7

    versions: Versions = field(default_factory=Versions.load)

    # -- loading ---------------------------------------------------------------------
    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        env_file = Path(environ.get("LAKEHOUSE_ENV_FILE", DEFAULT_ENV_FILE))
        merged = read_env_file(env_file) if env_file.is_file() else {}
        merged.update(environ)
        return cls.from_mapping(merged)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        base = cls()
        overrides: dict[str, Any] = {}  # each value parsed to its field's type
        for name in _ENV_FIELDS:
            key = f"LAKEHOUSE_{name.upper()}"
            if key in values:
                overrides[name] = _parse(values[key], type(getattr(base, name)), key)
        return replace(base, **overrides)

    # -- derived ---------------------------------------------------------------------
    @property
    def raw_location(self) -> str:
        """s3a://bucket[/prefix], or file:///dir (a local directory given either way)."""
        return raw_file_location(self.raw_uri) if self.raw_uri else f"s3a://{self.raw_bucket}"

    @property
    def raw_bucket_and_prefix(self) -> tuple[str, str]:
        """s3a://bucket/some/prefix -> ("bucket", "some/prefix/")"""
        bucket, _, prefix = self.raw_location.removeprefix("s3a://").partition("/")
        return bucket, (prefix.strip("/") + "/") if prefix.strip("/") else ""

    @property
    def run_buckets(self) -> list[str]:
        """The buckets a curation run reads or writes: the lake's, and the raw one's if raw is on S3."""
        raw = [self.raw_bucket_and_prefix[0]] if self.raw_location.startswith("s3a://") else []
        return [self.lake_bucket, *raw]

    @property
    def lake_key_prefix(self) -> str:
        """The warehouse's key prefix inside the lake bucket ("" at the bucket root)."""
        _, _, prefix = self.warehouse.removeprefix("s3a://").partition("/")
        return (prefix.strip("/") + "/") if prefix.strip("/") else ""

    @property
    def object_store_endpoints(self) -> list[str]:
        """The endpoints to try, in order: primary first, then the backups."""
        listed = [endpoint.strip() for endpoint in self.s3_endpoints.split(",") if endpoint.strip()]
        return listed or [self.s3_endpoint]

    @property
    def serving_catalog(self) -> str:
        """The Trino catalog that reads the object store through `s3_endpoint`: `trino_catalog`
        for the primary, `<trino_catalog>_backup` for the first backup (`_backup2`, ... after)."""
        endpoints = self.object_store_endpoints
        position = endpoints.index(self.s3_endpoint) if self.s3_endpoint in endpoints else 0
        if position == 0:
            return self.trino_catalog
        return f"{self.trino_catalog}_backup{position if position > 1 else ''}"

    @property
    def uses_object_store(self) -> bool:
        return self.warehouse.startswith("s3a://")

    def table_path(self, schema: str, table: str) -> str:
        """Where Spark reads and writes a table."""
        return f"{self.warehouse.rstrip('/')}/{schema}/{table}"

    def trino_location(self, schema: str, table: str | None = None) -> str:
        """The same location as Trino's native S3 file system names it."""
        path = self.table_path(schema, table) if table else f"{self.warehouse.rstrip('/')}/{schema}"
        return "s3://" + path.removeprefix("s3a://")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _parse(text: str, kind: type, key: str) -> object:
    if kind is bool:
        if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"{key}: expected true or false, got {text!r}")
        return text.lower() in ("1", "true", "yes")
    return kind(text)


# Fields that may be set from the environment as LAKEHOUSE_<NAME>.
_ENV_FIELDS = (
    "warehouse",
    "raw_bucket",
    "raw_uri",
    "lake_bucket",
    "s3_endpoint",
    "s3_endpoints",
    "s3_region",
    "s3_access_key",
    "s3_secret_key",
    "loader_s3_access_key",
    "loader_s3_secret_key",
    "trino_host",
    "trino_port",
    "trino_scheme",
    "trino_ca_file",
    "trino_user",
    "trino_password",
    "trino_analyst_user",
    "trino_analyst_password",
    "trino_catalog",
    "trino_register",
    "spark_master",
    "spark_driver_memory",
    "spark_driver_java_options",
    "spark_shuffle_partitions",
    "ivy_cache",
    "definitions_dir",
    "views_dir",
    "expectations_dir",
    "grace_days",
    "look_back_days",
    "lock_wait_seconds",
    "lock_lease_seconds",
    "retention_days",
)
