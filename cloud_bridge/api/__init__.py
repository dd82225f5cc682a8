"""The cloud's HTTP API: ``create_app(settings | engine)`` builds the FastAPI app."""

from .app import create_app
from .masking import mask_name, mask_phone
from .responses import CertificateView

__all__ = ["CertificateView", "create_app", "mask_name", "mask_phone"]
