"""The five massline services and the gateway in front of them."""
