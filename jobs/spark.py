"""The only place Spark is configured and a SparkSession is built."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from jobs.settings import Settings

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")

# glibc gives each thread that allocates its own malloc arena, up to 8 per core, and a
# JVM has dozens of threads: the arenas' unused pages count in the resident set. Two
# arenas keep the 1.3M-event day's driver at 2.79 GiB instead of 2.94, at the same speed.
# (Set for the driver by `lakehouse` and for standalone executors by their conf; the jobs
# image sets it for the pods.)
MALLOC_ARENAS = {"MALLOC_ARENA_MAX": "2"}


def resolved_classpath_file(settings: Settings) -> Path:
    """Where `make setup` records the jars Ivy resolved for this set of versions."""
    key = hashlib.sha256(",".join(settings.versions.spark_packages).encode()).hexdigest()[:12]
    return Path(settings.ivy_cache) / f"classpath-{key}.txt"


# C2, the JIT's optimising compiler, compiles a method once it has run about 5,000 times.
# A daily run does forty different things once each (and every Spark query brings classes
# generated for it): on the 1.3M-event day C2 compiled 8,408 methods for 127 s of CPU (all
# compiling: 132 to 147 s) in a run of about 165 s on 2 cores (-XX:+CITime), mostly
# methods that had done their work by then. Ten times its thresholds leave it the hot
# loops: 5,413 methods, 81 s (all compiling: 97 to 99 s). The run's wall clock moved less
# than this machine's noise: 161.7 s against 167.4 (means of six runs each, alternated;
# single runs vary from 149 to 186 s). C1 alone (TieredStopAtLevel=1) took 218 s.
HOT_METHODS_ONLY = (
    "-XX:Tier4InvocationThreshold=50000",
    "-XX:Tier4MinInvocationThreshold=20000",
    "-XX:Tier4CompileThreshold=60000",
    "-XX:Tier4BackEdgeThreshold=400000",
)


# The throughput collector: a batch job wants total work done, not short pauses (the
# 1.3M-event day: 154 s with G1, 143 s with it; its peak RSS is lower too). With the JIT
# flags above, the same for every JVM that runs the job's tasks: the driver (in local mode
# the executors live in it) and the executors of a standalone cluster.
TASK_JVM_OPTIONS = ("-XX:+UseParallelGC", *HOT_METHODS_ONLY)


def jvm_launch_conf(settings: Settings) -> dict[str, str]:
    """Settings that must be known before the JVM starts (spark-submit flags)."""
    conf = {
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraJavaOptions": " ".join(
            filter(
                None,
                (
                    f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
                    *TASK_JVM_OPTIONS,
                    settings.spark_driver_java_options,
                ),
            )
        ),
        # (on Kubernetes the pods' javaOptions say the same: k8s/base/spark/curate.yaml)
        "spark.executor.extraJavaOptions": " ".join(TASK_JVM_OPTIONS),
        "spark.jars.ivy": settings.ivy_cache,
        **{f"spark.executorEnv.{name}": value for name, value in MALLOC_ARENAS.items()},
        # Python workers run in this interpreter's environment (the project venv).
        "spark.pyspark.python": sys.executable,
    }
    classpath = resolved_classpath_file(settings)
    on_loopback = settings.spark_master.startswith(("local", "spark://127.0.0.1:"))
    if on_loopback:
        # Stay on loopback: the machine's hostname may resolve to another interface.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    if not classpath.is_file():
        conf["spark.jars.packages"] = ",".join(settings.versions.spark_packages)
    elif settings.spark_master.startswith("local"):
        # In local mode the executors live in the driver JVM: putting the cached jars
        # on its classpath skips an Ivy resolution and a copy of 700 MB per run.
        conf["spark.driver.extraClassPath"] = classpath.read_text().strip()
    elif settings.spark_master.startswith("spark://"):
        # Executors in JVMs of their own (a standalone cluster): the driver ships them the
        # cached jars; nothing is resolved at start, by the driver or by an executor.
        conf["spark.jars"] = ",".join(classpath.read_text().strip().split(":"))
    # (on Kubernetes the jobs image has them among Spark's own jars: Dockerfile)
    return conf


def record_resolved_classpath(spark: SparkSession, settings: Settings) -> Path:
    """Write the jars that spark.jars.packages resolved to (called by make setup).

    Jars that Spark already ships (Jackson, log4j, Parquet, ...) are left out: on the
    driver's extra classpath they would shadow Spark's own, newer versions.
    """
    jars = spark.sparkContext.getConf().get("spark.jars", "")
    resolved = [Path(jar.removeprefix("file://").removeprefix("file:")) for jar in jars.split(",") if jar]
    shipped = {artifact_name(jar.name) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    needed = [str(jar) for jar in resolved if artifact_name(jar.name.partition("_")[2]) not in shipped]
    if not needed:
        raise RuntimeError("Spark resolved no jars for spark.jars.packages")
    target = resolved_classpath_file(settings)
    target.write_text(":".join(needed) + "\n")
    return target


def artifact_name(jar_file_name: str) -> str:
    """'jackson-databind-2.13.5.jar' -> 'jackson-databind'."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar_file_name)


def session_conf(settings: Settings) -> dict[str, str]:
    """Runtime configuration of the session: Delta, S3A, shuffle and commit tuning."""
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        # Keep new tables at protocol 1/2: Trino 476 must read everything we write.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.databricks.delta.commitStats.collect": "false",
        # Delta rebuilds table state with 50 tasks by default: seconds of overhead per
        # commit on 2 cores, for logs that are small here.
        "spark.databricks.delta.snapshotPartitions": "2",
        # Delta's VACUUM lists a table's files in a Spark job of this many tasks (Spark's
        # default: 10,000, so ~140,000 tasks and 21 s for a three-partition table here; 8: 1 s).
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.spark_shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.debug.maxToStringFields": "1000",
        # A Spark quality gate's batch is cached, scanned by each expectation and dropped:
        # compressing it costs more CPU than the reads it saves.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Quality-gate batches reach GE's pandas engine through Arrow, not row by row.
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if settings.uses_object_store:
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
                "spark.hadoop.fs.s3a.endpoint.region": settings.s3_region,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.connection.ssl.enabled": str(settings.s3_endpoint.startswith("https")).lower(),
                "spark.hadoop.fs.s3a.aws.credentials.provider": (
                    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
                ),
                "spark.hadoop.fs.s3a.access.key": settings.s3_access_key,
                "spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key,
                # Fail in seconds, not minutes, when the store refuses or is away.
                "spark.hadoop.fs.s3a.attempts.maximum": "2",
                "spark.hadoop.fs.s3a.retry.limit": "2",
                "spark.hadoop.fs.s3a.connection.establish.timeout": "5s",
            }
        )
    return conf


def build_spark_session(settings: Settings, app_name: str) -> SparkSession:
    # PySpark takes its workers' interpreter from this variable only (not from conf):
    # point it at the project venv unless the caller chose one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    for key, value in {**jvm_launch_conf(settings), **session_conf(settings)}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def spark_submit_command(settings: Settings, job_file: Path, job_args: list[str]) -> list[str]:
    """The spark-submit command line for a job file of this package.

    Only JVM-launch settings go on the command line; credentials stay out of the
    process list and are applied by build_spark_session inside the driver.
    """
    spark_submit = Path(sys.executable).with_name("spark-submit")
    command = [str(spark_submit), "--master", settings.spark_master]
    for key, value in jvm_launch_conf(settings).items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(job_file), *job_args]
