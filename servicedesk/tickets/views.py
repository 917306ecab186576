"""Agent pages: queues, intake form, ticket page."""
from flask import Blueprint

bp = Blueprint("tickets", __name__)


@bp.get("/queue")
def queue():
    return "queue"
