"""Catalog administration pages (priority matrix, services, categories)."""
from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/admin")
