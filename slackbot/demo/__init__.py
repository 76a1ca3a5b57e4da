"""Local stand-ins for Slack and OpenAI: the offline demo and the tests run the app against them."""
