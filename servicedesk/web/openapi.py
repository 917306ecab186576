"""The OpenAPI document of /api/v1, served at /api/v1/openapi.json."""
from flask import Blueprint

bp = Blueprint("openapi", __name__)
