"""Gateway: the one entry URL. Proxies /api/<service>/… to the services and reports the health of all."""
