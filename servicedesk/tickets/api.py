"""/api/v1/tickets: the JSON side of tickets."""
from servicedesk.web.api import api_blueprint

bp = api_blueprint("tickets_api", __name__)
