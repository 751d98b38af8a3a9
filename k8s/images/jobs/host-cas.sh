# Sourced by the jobs image's download steps (Dockerfile, build stage). Downloads trust the
# image's own CA store, or the build host's when the build passes it as the build secrets
# ca-bundle (PEM) and java-cacerts (Java keystore): needed behind a TLS-inspecting proxy.
# A secret is mounted for one step only and never stored in a layer.
# shellcheck shell=bash
if [ -s /run/secrets/ca-bundle ]; then
  export SSL_CERT_FILE=/run/secrets/ca-bundle PIP_CERT=/run/secrets/ca-bundle
fi
if [ -s /run/secrets/java-cacerts ]; then
  export JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStore=/run/secrets/java-cacerts
fi
