"""Subcommands of the ``ucip-adapt`` command line (see ``ucip_adapt.cli``)."""
