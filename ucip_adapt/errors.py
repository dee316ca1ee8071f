"""How every entry point (``ucip-adapt`` subcommands and the recipes) reports failure.

A user error (a bad path, flag, file or network state) ends in one line on stderr that names the
problem and, in its message, the fix, with exit status 2; Ctrl-C ends with status 130 and a line
saying so. The traceback is printed only with ``--debug``. Messages come from the exceptions the
library raises, which say what to do; an error of an unexpected kind adds its type and the hint to
rerun with ``--debug``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .codecs.base import CodecUnavailableError

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, OSError, ImportError, CodecUnavailableError)
"""Errors whose message is meant for the user: bad values, unknown names, files, missing packages or programs."""

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


NETWORK_ERROR_CLASSES = {"TransportError", "ConnectionError"}
"""Base classes (by name: httpx, httpx2, requests and the builtin) of a failure to reach a server."""


def error_line(error: BaseException) -> str:
    """One line for ``error``: its message (a KeyError's without quotes), flattened."""
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    message = " ".join(message.split()) or type(error).__name__
    classes = {cls.__name__ for cls in type(error).__mro__}
    if "OfflineModeIsEnabled" in classes:  # huggingface_hub's refusal to go online: not a network failure
        return ("this needs the Hub, but offline mode is on (HF_HUB_OFFLINE=1): unset HF_HUB_OFFLINE to reach it, "
                "or give a local folder or file instead of a repository id")
    if NETWORK_ERROR_CLASSES & classes:
        from huggingface_hub import constants

        return (f"cannot reach {constants.ENDPOINT} ({message}); check the network connection or HF_ENDPOINT, "
                "or work offline from local folders (HF_HUB_OFFLINE=1)")
    if not isinstance(error, USER_ERRORS):
        message = f"{message} ({type(error).__name__}; run again with --debug for the traceback)"
    return message


def run_reporting_errors(program: str, run: Callable[[], int | None], debug: bool) -> int:
    """``run()``'s exit status, or a one-line report of why it failed (the traceback too with ``debug``)."""
    try:
        return int(run() or 0)
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            raise
        print(f"{program}: error: {error_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
