"""massline shared package: event contracts and the infrastructure every service stands on."""

__version__ = "0.1.0"
