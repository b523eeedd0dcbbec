# One image for every Python process of boleta; the Kubernetes manifests pick the process
# with args: `serve commands`, `serve queries`, `project tallies`, `project audit`.
#   docker build -t boleta:0.1.0 .
# (Not built in CI: the project's machines have no container runtime.)

# --- webapp: the Vite build that the query service serves at / ---------------------------
FROM node:20-bookworm-slim AS webapp
WORKDIR /webapp
COPY webapp/package.json webapp/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY webapp ./
RUN npm run build

# --- build: resolve the locked dependencies into a virtualenv ---------------------------
FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first (cached while only our code changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY boleta ./boleta
COPY domain ./domain
COPY commands ./commands
COPY projections ./projections
COPY queries ./queries
COPY proto ./proto
RUN uv sync --frozen --no-dev --no-editable

# --- run: the virtualenv on a slim Python, as a non-root user ----------------------------
FROM python:3.11-slim-bookworm
# The numeric user the manifests run as (runAsUser: 10001; tests/infra checks they agree).
RUN groupadd --gid 10001 boleta && useradd --uid 10001 --gid 10001 --no-create-home boleta
COPY --from=build /app/.venv /app/.venv
COPY --from=webapp /webapp/dist /app/webapp
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    BOLETA_WEBAPP_DIR=/app/webapp BOLETA_HOME=/tmp/boleta
# The root filesystem is read-only in Kubernetes; scratch space is an emptyDir at /tmp.
WORKDIR /tmp
USER 10001
ENTRYPOINT ["boleta"]
CMD ["--help"]
