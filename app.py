"""The chat app: `python app.py` serves it at http://127.0.0.1:7860 (same as `qa serve`)."""

from qa.config import Settings
from qa.server import serve

if __name__ == "__main__":
    serve(Settings.from_env())
