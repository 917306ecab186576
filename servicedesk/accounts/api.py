"""/api/v1/me, /api/v1/tokens, /api/v1/users: the JSON side of accounts."""
from servicedesk.web.api import api_blueprint

bp = api_blueprint("accounts_api", __name__)
