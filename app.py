"""Entry point: ``flask --app app run`` or ``python app.py`` for the development server."""

from deliberation import create_app
from deliberation.extensions import socketio

app = create_app()

if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=5000, allow_unsafe_werkzeug=True)
