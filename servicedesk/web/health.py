"""Liveness probe for load balancers and the benchmark baseline (no database access)."""
from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
