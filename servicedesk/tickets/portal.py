"""Requester portal: log a ticket, follow own tickets, reply."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
def index():
    return "portal"
