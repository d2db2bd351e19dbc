"""gunicorn settings of `make serve`, of deploy/deliberation@.service and of the benchmarks,
so that what is measured is what runs. Override on the command line (e.g. --bind)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One process per port: Flask-SocketIO keeps a client's live connection in the process that
# accepted it (several processes run behind nginx with sticky sessions and REDIS_URL).
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "50"))
timeout = 120
graceful_timeout = 30
accesslog = "-"
