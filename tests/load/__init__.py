"""Real servers (gunicorn, uvicorn), a bounded load client and injected
faults (Redis stopped or frozen, PostgreSQL restarted)."""
