# Điểm Tựa server image: gunicorn serving the app as an unprivileged user.
#
#   docker build -t diemtua .
#   docker run --env-file .env -p 8383:8383 diemtua
#
# Two stages: the package is built and installed into a virtualenv in the first, and only that
# virtualenv is copied into the second, so pip's caches, the build backend and the source tree
# stay behind. Every dependency ships manylinux wheels, so no compiler is needed in either.

FROM python:3.11-slim-trixie AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/diemtua
WORKDIR /src
# hatchling reads README.md (the package's long description) and the package folders.
COPY pyproject.toml README.md ./
COPY server ./server
COPY sync ./sync
COPY exports ./exports
COPY xlsforms ./xlsforms
# The image installs nothing at run time, so pip and setuptools leave with the build stage.
RUN /opt/diemtua/bin/pip install . \
 && /opt/diemtua/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim-trixie
ENV PATH=/opt/diemtua/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DIEMTUA_DATA_DIR=/var/lib/diemtua
# `diemtua backup` runs pg_dump and pg_restore, which must be at least as new as the server:
# Debian trixie's client is PostgreSQL 17, the version docker-compose.yml runs.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid lets operators chown a bind-mounted data folder before the first start.
RUN groupadd --system --gid 10001 diemtua \
 && useradd --system --uid 10001 --gid diemtua --home-dir /var/lib/diemtua --no-create-home \
      --shell /usr/sbin/nologin diemtua \
 && install -d -o diemtua -g diemtua -m 0750 /var/lib/diemtua
COPY --from=build /opt/diemtua /opt/diemtua
USER diemtua
WORKDIR /var/lib/diemtua
# The generated secret key and, without S3, uploaded files live here.
VOLUME ["/var/lib/diemtua"]
EXPOSE 8383
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8383/healthz', timeout=4)"]
# Migrating on start is safe to repeat: Alembic does nothing when the schema is current.
CMD ["sh", "-c", "diemtua db upgrade && exec diemtua serve --host 0.0.0.0 --port 8383"]
