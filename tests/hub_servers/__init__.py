"""Hub servers on 127.0.0.1 for the tests: olah (downloads) and a small upload-capable Hub."""
