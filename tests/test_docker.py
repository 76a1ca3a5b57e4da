"""The Docker image and compose file keep their promises (no Docker engine needed to check):
LangChain for create_agent graphs, a documented folder for your own graphs, no endless restarts."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def installed_requirements() -> set[str]:
    """The distributions the Dockerfile's `pip install ".[extras]"` brings, by name."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    [extras] = re.findall(r'pip install "?\.(?:\[([\w,]+)\])?', dockerfile)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in filter(None, extras.split(",")):
        wanted += project["optional-dependencies"][extra]
    return {re.match(r"[\w.-]+", r).group(0).lower() for r in wanted}


def test_the_image_can_run_create_agent_graphs():
    assert {"langchain", "langgraph", "langchain-openai"} <= installed_requirements()


def test_your_own_graphs_are_mounted_and_documented():
    app = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["app"]
    mounts = {target: source for source, target, *_ in (v.rsplit(":", 2) for v in app["volumes"])}
    assert "/graphs" in mounts and "ORCHESTRATE_GRAPHS_DIR" in mounts["/graphs"]
    readme = (ROOT / "README.md").read_text()
    docker = readme[readme.index("## Docker") :]
    assert "ORCHESTRATE_GRAPHS_DIR=" in docker and "ORCHESTRATE_GRAPH=/graphs/" in docker


def test_a_configuration_error_does_not_restart_forever():
    app = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["app"]
    policy = app.get("restart", "no")
    assert policy not in ("always", "unless-stopped")
    if policy.startswith("on-failure"):
        _, _, tries = policy.partition(":")
        assert tries and 0 < int(tries) <= 10, policy
