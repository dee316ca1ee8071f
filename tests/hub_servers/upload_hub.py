"""A small Hub that accepts uploads, for the push -> pull tests (olah, the mirror, takes none).

It implements the endpoints ``huggingface_hub`` uses to create a repository and commit to it
(``POST /api/repos/create``, ``/preupload/{rev}``, ``/commit/{rev}``: every file "regular", sent
base64 in the commit) and to read it back (``/api/models/{repo}/revision/{rev}``, ``/tree/{rev}``,
``HEAD``/``GET /{repo}/resolve/{rev}/{path}``) and to check a card (``/api/validate-yaml``:
the metadata must be a YAML mapping, ``base_model`` repo ids, ``model-index`` a list of results
with metrics), with the Hub's error headers so that the client
raises its usual exceptions. Writes need ``Authorization: Bearer <write_token>``; a private
repository is invisible (401, as on the Hub) without it. State lives in memory, one commit per
upload, so revisions can be pinned. Serves 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

REPO = r"(?P<repo>[^/]+/[^/]+)"
REV = r"(?P<rev>[^/]+)"


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a file, which the Hub reports as a regular file's etag and oid."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    private: bool
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        """The commit id of a branch name or a full commit id, ``None`` if neither."""
        return self.branches.get(revision) or (revision if revision in self.commits else None)


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, body: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.body = body or {"error": message}


class UploadHub:
    """The server; ``with UploadHub("write-token") as hub:`` serves on ``hub.url`` in a thread."""

    def __init__(self, write_token: str) -> None:
        self.write_token = write_token
        self.repos: dict[str, Repo] = {}
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="upload-hub", daemon=True)

    def __enter__(self) -> UploadHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of ``repo_id`` at ``revision``, for assertions."""
        with self.lock:
            repo = self.repos[repo_id]
            return dict(repo.commits[repo.resolve(revision)])

    # ------------------------------------------------------------- requests
    def create_repo(self, body: dict, authorized: bool) -> tuple[int, dict]:
        self._require_write(authorized)
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        with self.lock:
            if repo_id in self.repos:
                message = "You already created this model repo"
                raise HubError(HTTPStatus.CONFLICT, None, message, {"error": message, "url": f"{self.url}/{repo_id}"})
            empty = self._commit_id(None, {}, "initial commit")
            self.repos[repo_id] = Repo(private=body.get("visibility") == "private" or bool(body.get("private")),
                                       commits={empty: {}}, branches={"main": empty})
        return HTTPStatus.OK, {"url": f"{self.url}/{repo_id}", "name": repo_id}

    def repo_info(self, repo_id: str, revision: str, authorized: bool) -> dict:
        repo, commit = self._read(repo_id, revision, authorized)
        return {"id": repo_id, "modelId": repo_id, "sha": commit, "private": repo.private,
                "siblings": [{"rfilename": path} for path in sorted(repo.commits[commit])]}

    def tree(self, repo_id: str, revision: str, prefix: str, recursive: bool, authorized: bool) -> list[dict]:
        repo, commit = self._read(repo_id, revision, authorized)
        prefix = prefix.strip("/")
        entries, folders = [], set()
        for path, content in sorted(repo.commits[commit].items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            parts = path[len(prefix) + 1 if prefix else 0:].split("/")
            for depth in range(1, len(parts)):
                folders.add("/".join(filter(None, [prefix, *parts[:depth]])))
            if recursive or len(parts) == 1:
                entries.append({"type": "file", "path": path, "size": len(content), "oid": git_blob_sha1(content)})
        depth_limit = prefix.count("/") + 1 if prefix else 0
        shown = sorted(f for f in folders if recursive or f.count("/") == depth_limit)
        return [{"type": "directory", "path": f, "oid": hashlib.sha1(f.encode()).hexdigest()} for f in shown] + entries

    @staticmethod
    def validate_yaml(content: str) -> dict:
        """The Hub's check of a README's metadata, reduced to what ucip-adapt cards use."""
        match = re.match(r"^---\n(.*?)\n---\n", content, flags=re.S)
        metadata = yaml.safe_load(match.group(1)) if match else {}
        errors = []
        if not isinstance(metadata, dict):
            errors.append("metadata must be a YAML mapping")
            metadata = {}
        base_models = metadata.get("base_model") or []
        for base in [base_models] if isinstance(base_models, str) else base_models:
            if not re.fullmatch(r"[\w.-]+/[\w.-]+", str(base)):
                errors.append(f'"base_model" must be Hub repo ids, got {base!r}')
        for entry in metadata.get("model-index") or []:
            for result in entry.get("results") or []:
                if not result.get("metrics") or not all("type" in m and "value" in m for m in result["metrics"]):
                    errors.append(f'"model-index" result without metric type and value: {result!r}')
        if errors:
            raise HubError(HTTPStatus.BAD_REQUEST, None, "; ".join(errors), {"errors": [{"message": e} for e in errors]})
        return {"errors": [], "warnings": []}

    def preupload(self, repo_id: str, revision: str, body: dict, authorized: bool) -> dict:
        self._require_write(authorized)
        repo, commit = self._read(repo_id, revision, authorized)
        current = repo.commits[commit]
        return {"files": [
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
             "oid": git_blob_sha1(current[f["path"]]) if f["path"] in current else None}
            for f in body["files"]
        ]}

    def commit(self, repo_id: str, revision: str, lines: list[dict], query: dict, authorized: bool) -> dict:
        self._require_write(authorized)
        if query.get("create_pr"):
            raise HubError(HTTPStatus.BAD_REQUEST, None, "This test Hub does not implement pull requests")
        with self.lock:
            repo, parent = self._read(repo_id, revision, authorized)
            files = dict(repo.commits[parent])
            header = next(line["value"] for line in lines if line["key"] == "header")
            if header.get("parentCommit") not in (None, parent):
                raise HubError(HTTPStatus.PRECONDITION_FAILED, None, f"parentCommit {header['parentCommit']} is not the head of {revision}")
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    files = {p: c for p, c in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
                elif key != "header":
                    raise HubError(HTTPStatus.BAD_REQUEST, None, f"Unsupported commit operation {key!r} (this Hub asks for regular uploads only)")
            commit = self._commit_id(parent, files, header["summary"])
            repo.commits[commit] = files
            repo.branches[revision] = commit
        return {"commitUrl": f"{self.url}/{repo_id}/commit/{commit}", "commitOid": commit, "pullRequestUrl": None}

    def file(self, repo_id: str, revision: str, path: str, authorized: bool) -> tuple[str, bytes]:
        repo, commit = self._read(repo_id, revision, authorized)
        if path not in repo.commits[commit]:
            raise HubError(HTTPStatus.NOT_FOUND, "EntryNotFound", f"{path} does not exist in {repo_id} at {revision}")
        return commit, repo.commits[commit][path]

    # -------------------------------------------------------------- helpers
    def _require_write(self, authorized: bool) -> None:
        if not authorized:
            raise HubError(HTTPStatus.UNAUTHORIZED, None, "Invalid credentials in Authorization header (a write token is needed)")

    def _read(self, repo_id: str, revision: str, authorized: bool) -> tuple[Repo, str]:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not authorized):
            raise HubError(HTTPStatus.UNAUTHORIZED, "RepoNotFound", "Repository not found")
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(HTTPStatus.NOT_FOUND, "RevisionNotFound", f"Invalid rev id: {revision}")
        return repo, commit

    @staticmethod
    def _commit_id(parent: str | None, files: dict[str, bytes], summary: str) -> str:
        digest = hashlib.sha1(f"{parent}|{summary}".encode())
        for path in sorted(files):
            digest.update(f"|{path}:{git_blob_sha1(files[path])}".encode())
        return digest.hexdigest()


def _handler_for(hub: UploadHub) -> type[BaseHTTPRequestHandler]:
    routes = [
        ("POST", re.compile(r"/api/repos/create"), "create"),
        ("POST", re.compile(r"/api/validate-yaml"), "validate"),
        ("GET", re.compile(rf"/api/models/{REPO}(?:/revision/{REV})?"), "info"),
        ("GET", re.compile(rf"/api/models/{REPO}/tree/{REV}(?P<path>/.*)?"), "tree"),
        ("POST", re.compile(rf"/api/models/{REPO}/preupload/{REV}"), "preupload"),
        ("POST", re.compile(rf"/api/models/{REPO}/commit/{REV}"), "commit"),
        ("GET", re.compile(rf"/{REPO}/resolve/{REV}/(?P<path>.+)"), "resolve"),
        ("HEAD", re.compile(rf"/{REPO}/resolve/{REV}/(?P<path>.+)"), "resolve"),
    ]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_HEAD(self) -> None:
            self._dispatch("HEAD")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def log_message(self, format: str, *args: object) -> None:  # quiet: pytest shows failures
            pass

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
            authorized = self.headers.get("Authorization") == f"Bearer {hub.write_token}"
            try:
                for route_method, pattern, name in routes:
                    match = pattern.fullmatch(url.path)
                    if route_method == method and match:
                        self._answer(method, name, {k: unquote(v) for k, v in match.groupdict().items() if v},
                                     parse_qs(url.query), body, authorized)
                        return
                raise HubError(HTTPStatus.NOT_FOUND, None, f"No route for {method} {url.path}")
            except HubError as error:
                headers = {"X-Error-Message": error.message, **({"X-Error-Code": error.code} if error.code else {})}
                self._send(error.status, json.dumps(error.body).encode(), headers, method)

        def _answer(self, method: str, name: str, args: dict, query: dict, body: bytes, authorized: bool) -> None:
            repo_id, revision = args.get("repo"), args.get("rev", "main")
            if name == "create":
                status, payload = hub.create_repo(json.loads(body), authorized)
                self._json(payload, status)
            elif name == "validate":
                self._json(hub.validate_yaml(json.loads(body)["content"]))
            elif name == "info":
                self._json(hub.repo_info(repo_id, revision, authorized))
            elif name == "tree":
                recursive = query.get("recursive", ["False"])[0].lower() == "true"
                self._json(hub.tree(repo_id, revision, args.get("path", ""), recursive, authorized))
            elif name == "preupload":
                self._json(hub.preupload(repo_id, revision, json.loads(body), authorized))
            elif name == "commit":
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                self._json(hub.commit(repo_id, revision, lines, query, authorized))
            else:
                commit, content = hub.file(repo_id, revision, args["path"], authorized)
                etag = git_blob_sha1(content)
                self._send(HTTPStatus.OK, content, {"X-Repo-Commit": commit, "ETag": f'"{etag}"',
                                                    "Content-Type": "application/octet-stream"}, method)

        def _json(self, payload: object, status: int = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"}, "GET")

        def _send(self, status: int, content: bytes, headers: dict[str, str], method: str) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(content)

    return Handler
