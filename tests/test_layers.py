"""Dependency direction: slackbot → graphs, never back."""

import subprocess
import sys

CHECK = """
import sys, pkgutil, importlib, graphs
for mod in pkgutil.walk_packages(graphs.__path__, "graphs."):
    importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {"slack_bolt", "slack_sdk", "slackbot"})
print(",".join(bad))
"""


def test_graphs_imports_nothing_from_slack():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "", f"graphs pulled in: {result.stdout}"


def test_check_would_see_a_slack_import():
    # The probe above must be able to fail: importing slackbot does load slack modules.
    probe = CHECK.replace("import sys, pkgutil", "import slackbot.slack_client, sys, pkgutil")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert "slack_sdk" in result.stdout
