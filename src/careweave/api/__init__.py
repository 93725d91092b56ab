"""HTTP API (FastAPI): thin translation over care, risk and security."""
