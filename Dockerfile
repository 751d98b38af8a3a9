# The jobs image: Java 17, the project's venv from uv.lock, and the JVM packages (Delta,
# hadoop-aws, the AWS SDK bundle) resolved at build time by Spark's own Ivy resolution
# (jobs/spark_packages.py) and put into Spark's jars/: a pod never resolves --packages.
# It runs as the driver and the executors of a SparkApplication (entrypoint below) and
# as the `lakehouse` command line (the Airflow DAG's pods). No registry base image: the
# base is a Debian bookworm made locally (debootstrap), named by BASE_IMAGE. Built by
# `make image` (scripts/image.sh, buildah); docs/kubernetes.md has the times.
ARG BASE_IMAGE=lakehouse/debian-base:bookworm

# What both stages run on: Java 17 (it brings ca-certificates), Python 3.11 and tini,
# installed once in one layer that both stages share.
FROM ${BASE_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless=17.0.* python3.11=3.11.2-* tini=0.19.* \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /usr/lib/jvm/java-17
# For uv, in both stages (the final one installs the project with it). UV_PYTHON: the
# venv must link to python3.11 itself; /usr/bin/python3 exists only in the deps stage.
ENV UV_PYTHON=/usr/bin/python3.11 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy

# The dependencies: the venv from uv.lock and the JVM packages, ~1.5 GB that change only
# with uv.lock or versions.env. The uv and Ivy caches are build cache mounts: a rebuilt
# layer installs from them instead of downloading again.
FROM runtime AS deps
# (inherited from runtime; repeated for hadolint, which reads each stage on its own)
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11-venv=3.11.2-* \
 && rm -rf /var/lib/apt/lists/*
# The build host's CAs, if it passes them as build secrets (k8s/images/jobs/host-cas.sh).
COPY k8s/images/jobs/host-cas.sh /usr/local/lib/host-cas.sh
RUN --mount=type=secret,id=ca-bundle . /usr/local/lib/host-cas.sh \
 && python3.11 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/lakehouse
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-bundle . /usr/local/lib/host-cas.sh \
 && /opt/uv/bin/uv sync --frozen --no-dev --no-install-project
# Resolved by jobs/spark_packages.py and the modules it imports (nothing else, so that
# other code changes keep this layer); the resolved jars (those Spark does not ship) join
# Spark's own. The classpath file names them there: jobs/spark.py takes it as "resolved
# already" and adds no spark.jars.packages. (SPARK_LOCAL_IP: the build container's host
# name resolves to no address.)
ARG SPARK_JARS=/opt/lakehouse/.venv/lib/python3.11/site-packages/pyspark/jars
COPY versions.env ./
COPY jobs/__init__.py jobs/locations.py jobs/settings.py jobs/spark.py jobs/spark_packages.py jobs/log4j2.properties jobs/
RUN --mount=type=cache,target=/var/cache/ivy --mount=type=secret,id=java-cacerts . /usr/local/lib/host-cas.sh \
 && SPARK_LOCAL_IP=127.0.0.1 LAKEHOUSE_IVY_CACHE=/var/cache/ivy .venv/bin/python -m jobs.spark_packages \
 && classpath=$(ls -t /var/cache/ivy/classpath-*.txt | head -n1) && mkdir ivy \
 && tr ':' '\n' < "$classpath" | xargs -I{} cp {} "$SPARK_JARS/" \
 && sed "s#/var/cache/ivy/jars/#$SPARK_JARS/#g" "$classpath" > "ivy/${classpath##*/}"

FROM runtime
RUN useradd --uid 185 --gid 0 --home-dir /opt/lakehouse --no-create-home --shell /usr/sbin/nologin spark
WORKDIR /opt/lakehouse
# The big layer first: a code change rebuilds only the small layers below it.
COPY --from=deps /opt/lakehouse/.venv .venv
COPY --from=deps /opt/lakehouse/ivy ivy
COPY pyproject.toml uv.lock README.md versions.env ./
COPY jobs/ jobs/
# The project itself, editable (a .pth, its metadata and the `lakehouse` script), by uv
# mounted from the deps stage: jobs/settings.py finds versions.env, models/ and
# expectations/ beside the package, as in a clone.
RUN --mount=type=bind,from=deps,source=/opt/uv,target=/opt/uv \
    --mount=type=bind,from=deps,source=/usr/local/lib/host-cas.sh,target=/usr/local/lib/host-cas.sh \
    --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca-bundle \
    . /usr/local/lib/host-cas.sh && /opt/uv/bin/uv sync --frozen --no-dev
COPY models/ models/
COPY expectations/ expectations/
COPY k8s/images/jobs/entrypoint.sh /opt/entrypoint.sh
ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    SPARK_HOME=/opt/lakehouse/.venv/lib/python3.11/site-packages/pyspark \
    PATH=/opt/lakehouse/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYSPARK_PYTHON=/opt/lakehouse/.venv/bin/python \
    LAKEHOUSE_IVY_CACHE=/opt/lakehouse/ivy \
    LAKEHOUSE_ENV_FILE=/dev/null \
    MALLOC_ARENA_MAX=2
USER 185
ENTRYPOINT ["/opt/entrypoint.sh"]
CMD ["lakehouse", "--help"]
