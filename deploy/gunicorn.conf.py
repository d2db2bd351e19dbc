"""gunicorn settings of `make serve`, of deploy/deliberation@.service and of the benchmarks,
so that what is measured is what runs. Override on the command line (e.g. --bind).

The gevent worker (issue 22, measured in BENCHMARKS.md): every connection is a greenlet in one
OS thread, so 2,000 idle live pages cost memory, not the threads ordinary pages need; and the
gthread worker's crashes under load (threads on CPython 3.11) do not happen. SQLite stays
correct: a write transaction never waits on the network, so it runs start to finish without
yielding to another request; psycopg 3 cooperates with gevent by itself.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One process per port: Flask-SocketIO keeps a client's live connection in the process that
# accepted it (several processes run behind nginx with sticky sessions and REDIS_URL).
workers = 1
worker_class = "gevent"
# gunicorn's default of 1,000 made the 1,001st connection (a comment POST) wait behind idle
# sockets; memory, not this number, is the limit that matters.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
timeout = 120
graceful_timeout = 30
accesslog = "-"
