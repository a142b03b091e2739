# The app image: `manage.py serve` (uvicorn, WORKERS processes) as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/var \
    HOST=0.0.0.0 \
    PORT=8080

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin douyin

COPY pyproject.toml README.md alembic.ini app.py settings.py settings_sources.py manage.py ./
COPY compat compat
COPY schema schema
COPY resolvers resolvers
COPY storage storage
COPY core core
COPY migrations migrations
RUN pip install . && mkdir -p /app/var && chown douyin /app/var

USER douyin
EXPOSE 8080
# Liveness only (the process answers); the load balancer asks /readyz, which also checks the
# database, Redis and the object store.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
# SIGTERM drains (see SHUTDOWN_DRAIN_SECONDS); give it stop_grace_period / terminationGracePeriodSeconds
# above SHUTDOWN_DRAIN_SECONDS + GRACEFUL_SHUTDOWN_SECONDS.
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "serve"]
