# ccmon worker image (also runs `ccmon simulate` and `ccmon validate`).
#
#   docker build -t ccmon:0.3.0 .
#
# Dependencies are the exact, hashed pins of deploy/requirements*.lock (`make lock` exports them
# from uv.lock).
# No Docker engine runs in CI: tests/unit/deploy/test_compose.py parses this file with the
# BuildKit parser and lints it with hadolint. docs/operations.md, "Image", explains it.

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# The runtime venv gets no pip/setuptools of its own: the system pip installs into it.
RUN python -m venv --without-pip /opt/ccmon
COPY deploy/requirements.lock deploy/requirements-build.lock deploy/
RUN pip --python /opt/ccmon/bin/python install --no-deps --require-hashes -r deploy/requirements.lock
# README.md is optional (pyproject names it); the glob keeps COPY from failing without it.
COPY pyproject.toml README.m[d] ./
COPY streams/ streams/
COPY agents/ agents/
# ccmon/ is the import namespace: streams/ and agents/ linked in (docs/architecture.md).
COPY ccmon/ ccmon/
RUN pip install --no-deps --require-hashes -r deploy/requirements-build.lock \
    && pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && pip --python /opt/ccmon/bin/python install --no-deps /tmp/wheels/ccmon-*.whl \
    && pip --python /opt/ccmon/bin/python check


FROM python:3.11.13-slim-bookworm
LABEL org.opencontainers.image.title="ccmon" \
      org.opencontainers.image.description="Real-time contact-centre monitor (Faust worker)" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/ccmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CCMON_DATA_DIR=/var/lib/ccmon \
    CCMON_WEB_PORT=6066
# The system pip/setuptools are not needed at run time; a fixed uid/gid so that Kubernetes'
# runAsUser and volume ownership (fsGroup) can name it.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 ccmon \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /var/lib/ccmon --shell /usr/sbin/nologin ccmon \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/ccmon
COPY --from=build /opt/ccmon /opt/ccmon
USER 10001:10001
WORKDIR /var/lib/ccmon
# /metrics and /healthz (CCMON_WEB_PORT).
EXPOSE 6066
# Slim images have no curl or wget: the venv's Python asks /healthz (any non-2xx raises).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CCMON_WEB_PORT', '6066'), timeout=4)"]
ENTRYPOINT ["ccmon"]
CMD ["worker", "-l", "info"]
