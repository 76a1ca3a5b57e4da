"""Shared fixtures: a fresh PostgreSQL database per session, the local OpenAI-compatible server."""

import os

os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")  # before langgraph is imported

import uuid
from urllib.parse import quote

import psycopg
import pytest

from graphs.context import Context
from graphs.llm import LLMConfig, build_chat_model
from slackbot.demo.openai_server import OpenAIServer

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_database():
    """A new database on the test server, dropped afterwards; unreachable fails the test."""
    name = f"orchestrate_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database):
    """A postgresql:// URL with an empty schema of its own for each test (as search_path)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        info = conn.info
        auth = quote(info.user) + (f":{quote(info.password)}" if info.password else "")
        host = "127.0.0.1" if info.host.startswith("/") else info.host
        options = quote(f"-c search_path={schema}")
        return f"postgresql://{auth}@{host}:{info.port}/{info.dbname}?options={options}"


@pytest.fixture
async def llm_server():
    server = OpenAIServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def context(llm_server):
    config = LLMConfig(
        model="test-model", api_key="test", base_url=llm_server.base_url, max_retries=0
    )
    return Context(chat_model=build_chat_model(config))
