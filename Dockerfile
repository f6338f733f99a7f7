# syntax=docker/dockerfile:1
# falco-response container: `falco-response serve` (HTTP receiver) or `consume` (SQS).
#
#   docker build -t falco-response .
#   docker build --build-arg PLUGINS="slack pagerduty" -t falco-response:notify .
#
# Multi-stage: wheels are built in `build` and only installed in `runtime`, so the image
# carries no compiler, no pip cache and no source tree. Runs as a non-root user with a
# read-only root filesystem: the only writable paths are the queue directory and /tmp,
# which Kubernetes mounts as emptyDir volumes (see deploy/kubernetes/).

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
# The plugins to install, each a folder under plugins/. Plugins that need the shared
# Kubernetes helpers (delete-pod, taint-node, evidence) pull plugins/kubernetes in by dependency.
ARG PLUGINS="slack delete-pod taint-node evidence"
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY plugins ./plugins
RUN set -eu; \
    python -m venv /opt/falco-response; \
    /opt/falco-response/bin/pip install --upgrade pip; \
    mkdir /wheels; \
    /opt/falco-response/bin/pip wheel --no-deps --wheel-dir /wheels . plugins/kubernetes; \
    requirements="falco-response[server,redis,nats]"; \
    for name in ${PLUGINS}; do \
        if [ ! -f "plugins/${name}/pyproject.toml" ]; then \
            echo "unknown plugin: ${name} (no plugins/${name}/pyproject.toml)" >&2; exit 1; \
        fi; \
        /opt/falco-response/bin/pip wheel --no-deps --wheel-dir /wheels "plugins/${name}"; \
        requirements="${requirements} falco-response-${name}"; \
    done; \
    /opt/falco-response/bin/pip install --find-links /wheels ${requirements}; \
    /opt/falco-response/bin/falco-response plugins

FROM python:${PYTHON_VERSION}-slim AS runtime
ARG PLUGINS="slack delete-pod taint-node evidence"
LABEL org.opencontainers.image.title="falco-response" \
      org.opencontainers.image.description="A response engine for Falco alerts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.falco-response.plugins="${PLUGINS}"
RUN groupadd --system --gid 10001 falco-response \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin falco-response \
    && mkdir -p /var/lib/falco-response /etc/falco-response \
    && chown 10001:10001 /var/lib/falco-response
COPY --from=build /opt/falco-response /opt/falco-response
ENV PATH=/opt/falco-response/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FALCO_RESPONSE_CONFIG=/etc/falco-response/falco-response.yaml \
    FALCO_RESPONSE_QUEUE=/var/lib/falco-response/queue.db \
    FALCO_RESPONSE_HOST=0.0.0.0 \
    FALCO_RESPONSE_PORT=8080
USER 10001:10001
VOLUME ["/var/lib/falco-response"]
EXPOSE 8080 8081
ENTRYPOINT ["falco-response"]
CMD ["serve", "--health-port", "8081"]
