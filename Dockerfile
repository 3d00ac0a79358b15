# The service image used by docker-compose.yml for the API and the workers.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY archive ./archive
COPY search_api ./search_api
COPY ingest ./ingest
COPY ocr ./ocr
COPY cli ./cli
COPY mappings ./mappings
# Editable, so that mappings/ stays beside the code where the indexer looks for it.
RUN pip install --no-cache-dir -e '.[postgres,redis]'

RUN useradd --system --create-home archive && mkdir -p /data && chown archive /data
USER archive
ENV PARTNER_ARCHIVE_DATA_DIR=/data \
    PARTNER_ARCHIVE_HOST=0.0.0.0
EXPOSE 8000
CMD ["partner-archive", "serve"]
