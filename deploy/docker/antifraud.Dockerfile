# massline antifraud service.
# Build from the repository root:
#   docker build -f deploy/docker/antifraud.Dockerfile -t massline/antifraud .

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A venv is copied whole into the runtime stage, leaving sources and build files behind.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# shared/ first: its dependency layer is reused while only services/ changes.
COPY shared/ shared/
RUN pip install --no-cache-dir ./shared
COPY . .
RUN pip install --no-cache-dir .


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Fixed numeric uid so Kubernetes runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 massline \
    && useradd --system --uid 10001 --gid massline --home-dir /app --no-create-home massline \
    && mkdir /app && chown massline:massline /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8080

# slim images have no curl; urlopen raises (exit 1) on errors and non-2xx answers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=3)"]

CMD ["massline", "serve", "antifraud", "--host", "0.0.0.0", "--port", "8080"]
