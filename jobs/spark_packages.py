"""Resolve the jobs' JVM packages into the Ivy cache (run once by `make setup`).

Resolution goes through Spark's own spark.jars.packages (Ivy, Maven Central); the
resolved jar list is recorded so that later local runs start without Ivy.
"""

from jobs.settings import Settings
from jobs.spark import build_spark_session, record_resolved_classpath, resolved_classpath_file


def main() -> None:
    settings = Settings.load().with_overrides(warehouse="s3a://lakehouse", spark_master="local[1]")
    resolved_classpath_file(settings).unlink(missing_ok=True)  # force resolution
    spark = build_spark_session(settings, "resolve-packages")
    print(f"resolved classpath recorded in {record_resolved_classpath(spark, settings)}")
    spark.stop()


if __name__ == "__main__":
    main()
