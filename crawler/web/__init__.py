"""The review app: server-rendered pages over the same functions the CLI uses (crawler/web/app.py
has the route table and the guard; auth.py the sessions; review.py the queue and decisions)."""

from crawler.web.app import create_app

__all__ = ["create_app"]
