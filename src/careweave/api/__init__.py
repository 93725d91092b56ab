"""HTTP API (FastAPI, OpenAPI documented): thin routers over careweave.care and careweave.security.

``create_app(db_url)`` builds the app; ``careweave serve`` runs it.
"""

from careweave.api.app import create_app

__all__ = ["create_app"]
