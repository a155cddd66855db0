# The node programs (origin, shield, edges) and Locust, for compose mode.
# With a registry, the default base is the official slim Python 3.11 image. Without one,
# `make compose-images` builds a base from Debian's packages (debootstrap, then `docker import`)
# and passes it as BASE_IMAGE. Python packages come from a wheelhouse built on the host
# (`pip wheel`), installed without an index, as air-gapped builds do.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY .venv/docker/wheels /wheels
RUN python3 -m venv /venv \
    && /venv/bin/pip install --no-index --find-links /wheels shieldlab \
    && rm -rf /wheels \
    && mkdir -p /data
COPY harness/load/locustfile.py /app/locustfile.py
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
