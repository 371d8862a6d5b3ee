# One image for the four services; the command picks the service (python -m <name>.main).
# SecantusDB and the local Kafka jars are development tools and are not installed here.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app:/app/services
WORKDIR /app
RUN useradd --system --uid 10001 --home /app lienthong
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY data ./data
# kafka-init runs python -m infra.kafka_access (topics and ACLs) from the same image.
COPY infra ./infra
# The audit signing key lives in .local/audit, a witness's key and state in .local/witness
# (volumes in compose): the folders exist in the image, owned by the service user, so a fresh named volume takes that owner.
RUN pip install --no-cache-dir -e . && mkdir -p /app/.local/audit /app/.local/witness && chown -R lienthong /app
USER lienthong
EXPOSE 8001 8002 8003 8004 8005
CMD ["python", "-m", "intake.main"]
