"""A tiny Flask app, so the example's build context is realistic."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return {"status": "ok"}
