"""The UCIP network: building blocks, the network body and the user-facing model class."""
