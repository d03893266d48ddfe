# Concord's platform image: the web processes and the ledger worker run from it.
# Runtime needs no Node and no compiler: the contracts' build artifacts are committed.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CONCORD_INSTANCE_DIR=/var/lib/concord
COPY pyproject.toml requirements.lock ./
COPY verifier ./verifier
COPY platform ./platform
COPY migrations ./migrations
COPY frontend ./frontend
COPY contracts/build ./contracts/build
RUN pip install --no-cache-dir -c requirements.lock ./verifier \
    && pip install --no-cache-dir -c requirements.lock . \
    && useradd --system --home /var/lib/concord concord \
    && mkdir -p /var/lib/concord && chown concord /var/lib/concord
USER concord
EXPOSE 5000
CMD ["concord", "run", "--host", "0.0.0.0", "--port", "5000"]
