from pathlib import Path
from types import SimpleNamespace

from jobs.settings import Settings, Versions, read_env_file
from jobs.spark import artifact_name, jvm_launch_conf


def test_environment_wins_over_env_file_which_wins_over_defaults(tmp_path: Path):
    env_file = tmp_path / "lakehouse.env"
    env_file.write_text("# local stack\nLAKEHOUSE_S3_ENDPOINT=http://127.0.0.1:9100\nLAKEHOUSE_TRINO_PORT=8190\n")
    settings = Settings.load({"LAKEHOUSE_ENV_FILE": str(env_file), "LAKEHOUSE_TRINO_PORT": "8290", "UNRELATED": "x"})
    assert settings.s3_endpoint == "http://127.0.0.1:9100"
    assert settings.trino_port == 8290
    assert settings.raw_bucket == "enriched-events"


def test_missing_env_file_leaves_defaults(tmp_path: Path):
    settings = Settings.load({"LAKEHOUSE_ENV_FILE": str(tmp_path / "absent.env")})
    assert settings.warehouse == "s3a://lakehouse"
    assert settings.uses_object_store


def test_a_malformed_env_file_line_is_named(tmp_path: Path):
    env_file = tmp_path / "bad.env"
    env_file.write_text("LAKEHOUSE_WAREHOUSE\n")
    try:
        read_env_file(env_file)
    except ValueError as exc:
        assert "bad.env" in str(exc) and "LAKEHOUSE_WAREHOUSE" in str(exc)
    else:
        raise AssertionError("a line without '=' must be rejected")


def test_spark_and_trino_name_the_same_table_location():
    settings = Settings(warehouse="s3a://lakehouse")
    assert settings.table_path("silver", "tokens") == "s3a://lakehouse/silver/tokens"
    assert settings.trino_location("silver", "tokens") == "s3://lakehouse/silver/tokens"
    assert settings.trino_location("silver") == "s3://lakehouse/silver"


def test_a_local_warehouse_does_not_use_the_object_store():
    assert not Settings(warehouse="file:///data/lake").uses_object_store


def test_versions_come_from_versions_env():
    versions = Versions.load()
    assert versions.trino == "476"
    assert versions.spark_packages[0] == f"io.delta:delta-spark_4.1_2.13:{versions.delta}"


def test_artifact_name_strips_the_version():
    assert artifact_name("jackson-databind-2.13.5.jar") == "jackson-databind"
    assert artifact_name("delta-spark_4.1_2.13-4.3.1.jar") == "delta-spark_4.1_2.13"
    assert artifact_name("wildfly-openssl-2.1.4.Final.jar") == "wildfly-openssl"


def test_a_local_raw_directory_may_be_given_as_a_path_or_a_file_uri():
    assert Settings(raw_uri="/data/raw").raw_location == "file:///data/raw"
    assert Settings(raw_uri="file:///data/raw").raw_location == "file:///data/raw"
    assert Settings(raw_uri="s3a://enriched-events/tests").raw_location == "s3a://enriched-events/tests"
    assert Settings().raw_location == "s3a://enriched-events"


def test_the_serving_catalog_is_the_trino_catalog_that_reads_the_run_s_endpoint():
    pair = Settings.load({}).with_overrides(s3_endpoints="http://primary:9000, http://backup:9100, http://third:9200")
    assert [pair.with_overrides(s3_endpoint=e).serving_catalog for e in pair.object_store_endpoints] == [
        "delta",
        "delta_backup",
        "delta_backup2",
    ]
    assert Settings.load({}).serving_catalog == "delta"  # one endpoint, no failover


def test_a_run_reaches_the_lake_bucket_and_the_raw_one_only_when_raw_is_on_the_object_store():
    assert Settings(raw_uri="s3a://landing/tests/x").run_buckets == ["lakehouse", "landing"]
    assert Settings(raw_uri="/data/raw").run_buckets == ["lakehouse"]


def test_jobs_start_with_two_malloc_arenas_unless_the_caller_chose(monkeypatch):
    from jobs import cli

    seen: list[dict[str, str]] = []

    def run(command, env):
        seen.append(env)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(cli.subprocess, "run", run)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    cli.submit(Settings(), "smoke", [])
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    cli.submit(Settings(), "smoke", [])
    assert [env["MALLOC_ARENA_MAX"] for env in seen] == ["2", "8"]
    assert jvm_launch_conf(Settings())["spark.executorEnv.MALLOC_ARENA_MAX"] == "2"
