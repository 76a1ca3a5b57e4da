FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=3000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY slackbot ./slackbot
COPY graphs ./graphs
# `agents` brings LangChain, for create_agent graphs. A graph needing more packages: build with
# --build-arg EXTRA_PACKAGES="pkg1 pkg2".
ARG EXTRA_PACKAGES=""
RUN pip install ".[agents]" $EXTRA_PACKAGES \
  && useradd --create-home --uid 10001 app && mkdir -p /app/data /graphs && chown app /app/data
# Your own graphs: mount their folder at /graphs and set ORCHESTRATE_GRAPH=/graphs/langgraph.json
# (or /graphs/graph.py:graph); docker-compose.yml does this from ORCHESTRATE_GRAPHS_DIR.
USER app
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"
CMD ["python", "-m", "slackbot"]
