"""The gateway's routes, one module per area: the API and health, the public's pages, and each staff console."""
