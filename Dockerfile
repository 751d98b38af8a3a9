# The jobs image: Java 17, the project's venv from uv.lock, and the JVM packages (Delta,
# hadoop-aws, the AWS SDK bundle) resolved at build time by Spark's own Ivy resolution
# (jobs/spark_packages.py) and put into Spark's jars/: a pod never resolves --packages.
# It runs as the driver and the executors of a SparkApplication (entrypoint below) and
# as the `lakehouse` command line (the Airflow DAG's pods). No registry base image: the
# base is a Debian bookworm made locally (debootstrap), named by BASE_IMAGE.
ARG BASE_IMAGE=lakehouse/debian-base:bookworm

FROM ${BASE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless=17.0.* python3.11=3.11.2-* \
      python3.11-venv=3.11.2-* ca-certificates=2023* \
 && rm -rf /var/lib/apt/lists/*
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN python3.11 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/lakehouse
COPY pyproject.toml uv.lock README.md versions.env ./
COPY jobs/ jobs/
# The project is installed editable: jobs/settings.py finds versions.env, models/ and
# expectations/ beside the package, as in a clone.
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-cache
# Resolve once, here; then the resolved jars (those Spark does not ship) join Spark's own.
RUN LAKEHOUSE_IVY_CACHE=/opt/lakehouse/ivy .venv/bin/python -m jobs.spark_packages \
 && tr ':' '\n' < "$(ls ivy/classpath-*.txt)" | xargs -I{} cp {} .venv/lib/python3.11/site-packages/pyspark/jars/ \
 && rm -rf ivy/cache ivy/jars

FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless=17.0.* python3.11=3.11.2-* tini=0.19.* \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /usr/lib/jvm/java-17 \
 && useradd --uid 185 --gid 0 --home-dir /opt/lakehouse --no-create-home --shell /usr/sbin/nologin spark
WORKDIR /opt/lakehouse
COPY --from=build /opt/lakehouse /opt/lakehouse
COPY models/ models/
COPY expectations/ expectations/
COPY k8s/images/jobs/entrypoint.sh /opt/entrypoint.sh
# Great Expectations writes its run results and Data Docs under expectations/uncommitted.
RUN mkdir -p expectations/uncommitted && chown -R 185:0 expectations/uncommitted
ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    SPARK_HOME=/opt/lakehouse/.venv/lib/python3.11/site-packages/pyspark \
    PATH=/opt/lakehouse/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYSPARK_PYTHON=/opt/lakehouse/.venv/bin/python \
    LAKEHOUSE_IVY_CACHE=/opt/lakehouse/ivy \
    LAKEHOUSE_ENV_FILE=/dev/null
USER 185
ENTRYPOINT ["/opt/entrypoint.sh"]
CMD ["lakehouse", "--help"]
