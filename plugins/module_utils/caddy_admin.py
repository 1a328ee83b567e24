# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""A small client for Caddy's admin API over its unix socket (kdeploy's caddy proxy engine).

kdeploy's Caddy serves every app from one HTTP server, `kdeploy`; each Kamal proxy role is one
route in it, identified by `"@id": "kdeploy-<service>"`. A route change is one admin request,
which Caddy applies as a graceful config reload: requests already in flight finish on the old
upstream, new ones go to the new upstream, so a switch drops nothing. Caddy saves each change to
its autosave file (started with `--resume`), so routes survive a proxy restart.

Used by the modules release and proxy_route.
Standard library only (the connection class is shared with the Docker socket helper).
"""

from __future__ import annotations

import copy
import json
import time
from urllib.error import HTTPError
from urllib.request import ProxyHandler, build_opener

from ansible_collections.kdeploy.deploy.plugins.module_utils.docker_socket import (
    UnixSocketConnection,
)

# Caddy does not check the Host header on a unix socket; kdeploy sends the configured origin
# anyway, so the same client works if the admin endpoint ever listens on TCP.
ADMIN_HOST = "kdeploy-proxy"
SERVER = "kdeploy"

# Where a route goes: host-matched routes first, then path-only ones, then the catch-all.
HOST_ROUTE, PATH_ROUTE, CATCH_ALL = 0, 1, 2


def health_probe(url: str, timeout: float) -> tuple:
    """One GET of a health check URL, ignoring any proxy of the environment: (2xx?, answer).

    kamal-proxy's health check, done by kdeploy for Caddy: the answer names the URL and the status
    (or why there was none), for the failure message.
    """
    try:
        response = build_opener(ProxyHandler({})).open(url, timeout=timeout)
        try:
            status = response.getcode()
        finally:
            response.close()
    except HTTPError as exc:
        status = exc.code
    except Exception as exc:  # any failure to connect is an unhealthy answer
        return False, "%s: %s" % (url, getattr(exc, "reason", exc))
    return 200 <= status < 300, "%s: HTTP %s" % (url, status)


def network_ip(container: dict, network: str) -> str:
    """The IP address of an inspected container on network ("" when it has none)."""
    networks = ((container or {}).get("NetworkSettings") or {}).get("Networks") or {}
    return (networks.get(network) or {}).get("IPAddress") or ""


class CaddyAdminError(Exception):
    """Caddy's admin API could not be reached, refused a change, or a route would clash."""


def route_kind(route: dict) -> int:
    """HOST_ROUTE when a match names hosts, PATH_ROUTE for other matchers only, else CATCH_ALL."""
    matches = [match for match in route.get("match") or [] if match]
    if any(match.get("host") for match in matches):
        return HOST_ROUTE
    return PATH_ROUTE if matches else CATCH_ALL


def insert_index(routes: list, route: dict) -> int:
    """Where a new route goes: before the first route of a later kind (catch-alls stay last)."""
    kind = route_kind(route)
    for index, existing in enumerate(routes):
        if route_kind(existing) > kind:
            return index
    return len(routes)


def clashing_route(routes: list, route: dict) -> dict | None:
    """Another service's route without host that matches the same requests as route, else None."""
    if route_kind(route) == HOST_ROUTE:
        return None
    for existing in routes:
        if existing.get("@id") != route.get("@id") and route_kind(existing) != HOST_ROUTE \
                and (existing.get("match") or []) == (route.get("match") or []):
            return existing
    return None


def route_dials(route: dict | None) -> list:
    """The upstream dial addresses of a route's reverse_proxy handlers (also in subroutes)."""
    dials: list = []
    for handler in (route or {}).get("handle") or []:
        if handler.get("handler") == "reverse_proxy":
            dials += [upstream.get("dial") for upstream in handler.get("upstreams") or []]
        for subroute in handler.get("routes") or []:
            dials += route_dials(subroute)
    return dials


def raise_for_status(answer: tuple, method: str, path: str) -> None:
    """Raise CaddyAdminError with Caddy's message when answer (status, headers, body) failed."""
    status, _, decoded = answer
    if status >= 400:
        message = decoded.get("error") if isinstance(decoded, dict) else decoded
        raise CaddyAdminError("Caddy answered %s to %s %s: %s" % (status, method, path, message))


def route_with_upstream(route: dict, dial: str) -> dict:
    """A copy of a role's route whose reverse_proxy handlers (also in subroutes) dial `dial`."""
    route = copy.deepcopy(route)
    for handler in route.get("handle") or []:
        if handler.get("handler") == "reverse_proxy":
            handler["upstreams"] = [{"dial": dial}]
        if handler.get("routes"):
            handler["routes"] = [route_with_upstream(sub, dial) for sub in handler["routes"]]
    return route


# kamal-proxy's maintenance (`kamal-proxy stop`): the service answers 503 with its page and the
# message until `kamal-proxy resume`. With Caddy the route's first handler is then this static
# response; only kdeploy writes these routes, so a leading static_response marks maintenance.
MAINTENANCE_STATUS = 503
DEFAULT_MAINTENANCE_MESSAGE = (
    "<strong>The service is temporarily unavailable.</strong> It may be overloaded,<br> or "
    "undergoing scheduled maintenance. Please try again later.")
_MAINTENANCE_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head>\n<title>503 \u2014 Service Temporarily Unavailable'
    '</title>\n<meta charset="utf-8">\n<meta name="robots" content="noindex, nofollow">\n</head>\n'
    "<body>\n<main>\n<article>\n<p>%s</p>\n</article>\n</main>\n</body>\n</html>\n")


def maintenance_page(message: str | None) -> str:
    """kamal-proxy's 503 page with the message (HTML-escaped, as its Go template escapes it).

    Braces become character references: Caddy replaces `{placeholders}` in a static body.
    """
    if not message:
        text = DEFAULT_MAINTENANCE_MESSAGE
    else:
        text = (message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace('"', "&#34;").replace("'", "&#39;"))
    return _MAINTENANCE_PAGE % text.replace("{", "&#123;").replace("}", "&#125;")


def maintenance_handler(message: str | None) -> dict:
    """The static_response handler a route in maintenance answers with."""
    return {"handler": "static_response", "status_code": MAINTENANCE_STATUS,
            "headers": {"Content-Type": ["text/html; charset=utf-8"]},
            "body": maintenance_page(message)}


def maintenance_of(route: dict | None) -> dict | None:
    """The route's maintenance handler when it is in maintenance, else None."""
    handlers = (route or {}).get("handle") or []
    if handlers and handlers[0].get("handler") == "static_response":
        return handlers[0]
    return None


def route_in_maintenance(route: dict, handler: dict) -> dict:
    """A copy of route that answers with handler first (its own handlers stay, for live)."""
    route = route_live(route)
    route["handle"] = [handler, *(route.get("handle") or [])]
    return route


def route_live(route: dict) -> dict:
    """A copy of route without its maintenance handler."""
    route = copy.deepcopy(route)
    if maintenance_of(route) is not None:
        route["handle"] = route["handle"][1:]
    return route


def keep_maintenance(current: dict | None, wanted: dict) -> dict:
    """wanted, still in maintenance when current is: a deploy keeps it, as kamal-proxy does."""
    handler = maintenance_of(current)
    return wanted if handler is None else route_in_maintenance(wanted, handler)


class CaddyAdmin:
    """Caddy's admin API at a unix socket; routes of the `kdeploy` server."""

    def __init__(self, socket_path: str, timeout: float = 10, server: str = SERVER) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.routes_path = "/config/apps/http/servers/%s/routes" % server

    def request(self, method: str, path: str, body: object = None,
                headers: dict | None = None) -> tuple:
        """Send one request; return (status, headers dict, decoded JSON or None).

        Raises:
            CaddyAdminError: the socket cannot be reached.
        """
        connection = UnixSocketConnection(self.socket_path, self.timeout)
        headers = dict(headers or {}, Host=ADMIN_HOST)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            answer_headers = {key.lower(): value for key, value in response.getheaders()}
        except OSError as exc:
            raise CaddyAdminError("cannot reach Caddy's admin socket %s (is the proxy running? "
                                  "kdeploy proxy boot): %s" % (self.socket_path, exc)) from exc
        finally:
            connection.close()
        try:
            decoded = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except ValueError:
            decoded = raw.decode("utf-8", "replace").strip()
        return response.status, answer_headers, decoded

    def checked(self, method: str, path: str, body: object = None,
                headers: dict | None = None) -> tuple:
        """request(), raising CaddyAdminError with Caddy's message on an error status."""
        answer = self.request(method, path, body, headers)
        raise_for_status(answer, method, path)
        return answer

    def routes(self) -> tuple:
        """The routes of the server and their ETag (for a change that must not race another)."""
        _, headers, routes = self.checked("GET", self.routes_path)
        return routes or [], headers.get("etag")

    def route(self, route_id: str) -> dict | None:
        """The route with this @id, or None."""
        return next((r for r in self.routes()[0] if r.get("@id") == route_id), None)

    def put_route(self, route: dict, attempts: int = 5) -> str:
        """Add or replace the route with route["@id"]; return "unchanged", "replaced" or "added".

        An existing route is replaced in place (one atomic reload), or moved when it gains or
        loses its host match. A new one is inserted by kind (host routes before catch-alls).
        Inserts and moves are sent under If-Match and retried when another change raced them.

        Raises:
            CaddyAdminError: Caddy refused the change, or another service already has the
                catch-all this route would be.
        """
        for _ in range(attempts):
            routes, etag = self.routes()
            current = next((r for r in routes if r.get("@id") == route["@id"]), None)
            if current == route:
                return "unchanged"
            clash = clashing_route(routes, route)
            if clash is not None:
                raise CaddyAdminError(
                    "the proxy already sends every request without a matching host to %s; give "
                    "%s a proxy host (proxy/host) or remove the other app's route first"
                    % (clash.get("@id") or "a route without @id", route["@id"]))
            if current is not None and route_kind(current) == route_kind(route):
                self.checked("PATCH", "/id/%s" % route["@id"], route)
                return "replaced"
            if current is not None:
                # The route changes kind (gains or loses its host): it moves, in one change.
                others = [r for r in routes if r.get("@id") != route["@id"]]
                others.insert(insert_index(others, route), route)
                answer = self.request("PATCH", self.routes_path, others,
                                      {"If-Match": etag} if etag else None)
                if answer[0] != 412:
                    raise_for_status(answer, "PATCH", self.routes_path)
                    return "replaced"
                continue
            index = insert_index(routes, route)
            path = "%s/%d" % (self.routes_path, index)
            answer = self.request("PUT", path, route, {"If-Match": etag} if etag else None)
            if answer[0] != 412:  # 412: another change came first; read the routes again
                raise_for_status(answer, "PUT", path)
                return "added"
        raise CaddyAdminError("the routes kept changing while adding %s" % route["@id"])

    def delete_route(self, route_id: str) -> bool:
        """Remove the route with this @id; return whether there was one."""
        answer = self.request("DELETE", "/id/%s" % route_id)
        if answer[0] == 404:
            return False
        raise_for_status(answer, "DELETE", "/id/%s" % route_id)
        return True

    def upstreams(self) -> list:
        """Caddy's upstream pool, [{address, num_requests, fails}] (/reverse_proxy/upstreams)."""
        return self.checked("GET", "/reverse_proxy/upstreams")[2] or []

    def in_flight(self, dials: list) -> int:
        """Requests in flight to these upstream addresses."""
        return sum(upstream.get("num_requests") or 0 for upstream in self.upstreams()
                   if upstream.get("address") in dials)

    def wait_drained(self, dials: list, timeout: float, interval: float = 0.1) -> int:
        """Wait (at most timeout seconds) until nothing is in flight to dials; return the rest."""
        deadline = time.time() + timeout
        while True:
            left = self.in_flight(dials) if dials else 0
            if left == 0 or time.time() >= deadline:
                return left
            time.sleep(interval)
