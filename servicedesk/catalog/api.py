"""/api/v1/services, /categories, /groups, /priority-matrix: catalog lookups for integrations."""
from servicedesk.web.api import api_blueprint

bp = api_blueprint("catalog_api", __name__)
