# ECP – Portail Famille. Build: docker build -t ecp .   Run: see compose.yaml and the README.

# Stage 1: the project as a wheel. Templates, static files and migrations are package data
# (pyproject.toml), so the wheel is all the app needs; the benchmark (bench/) and the tests stay
# in the repository, never in the image.
FROM python:3.11-slim-bookworm AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels .

# Stage 2: the image. Debian bookworm: its postgresql-client (15) matches the compose database,
# for ecp backup.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ECP_ENV=production \
    ECP_HOST=0.0.0.0 \
    ECP_PORT=8000 \
    XDG_CACHE_HOME=/tmp/cache

# Pango for the PDF invoices (WeasyPrint), pg_dump/pg_restore for `ecp backup` on PostgreSQL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core postgresql-client \
 && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged user: the app never runs as root.
RUN groupadd --system --gid 10001 ecp \
 && useradd --system --uid 10001 --gid ecp --home-dir /app --shell /usr/sbin/nologin ecp

WORKDIR /app
# Exactly the tested versions, every file checked against the lock's hashes; a layer of its own,
# rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
# The project alone, from its wheel (--no-deps: everything came from the lock). Not editable: no
# source tree in the image. The working directory's var/ (/app/var) holds the writable data.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/ecp-*.whl && rm -rf /tmp/wheels \
 && mkdir -p /app/var /backups && chown ecp:ecp /app/var /backups
COPY deploy/docker-entrypoint.sh /usr/local/bin/ecp-entrypoint

USER ecp:ecp
EXPOSE 8000
VOLUME ["/app/var", "/backups"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.parse,urllib.request as u; h=urllib.parse.urlsplit(os.environ.get('ECP_BASE_URL','http://localhost')).netloc; sys.exit(0 if u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4).status == 200 else 1)"]

# Migrations first, then granian (several workers: the job runner's leases keep each job in one).
ENTRYPOINT ["ecp-entrypoint"]
CMD ["serve"]
