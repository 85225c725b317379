"""The site the load tests serve: the example project's shape (settings from
the environment) with three JSON views a load client can check."""
