pytest_plugins = ["tests.redis_server", "tests.dns_server", "tests.aws_fixtures", "tests.slack_api", "tests.slack_env"]
