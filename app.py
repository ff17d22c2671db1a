"""The chat app: `python app.py` serves it at http://127.0.0.1:7860 (same as `qa serve`)."""

import os

from qa.config import OFFLINE_ENV, Settings
from qa.web.server import serve

if __name__ == "__main__":
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    serve(Settings.from_env())
