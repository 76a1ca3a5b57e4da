FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=3000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY slackbot ./slackbot
COPY graphs ./graphs
RUN pip install . && useradd --create-home --uid 10001 app && mkdir -p /app/data && chown app /app/data
USER app
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"
CMD ["python", "-m", "slackbot"]
