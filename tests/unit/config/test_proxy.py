"""Proxy (typed minimally): hosts, ports, SSL, run."""

from __future__ import annotations

from config_helpers import variant


def test_proxy(load):
    proxy = load(variant(proxy={"host": "a.com,b.com", "app_port": 3000, "ssl": True,
                                "run": {"http_port": 8080}})).proxy
    assert (proxy.hosts, proxy.app_port, proxy.ssl, dict(proxy.run)) == (
        ("a.com", "b.com"), 3000, True, {"http_port": 8080})


def test_custom_certificate_allows_several_hosts(load):
    config = load(variant(servers={"web": ["10.0.0.1", "10.0.0.2"]}, proxy={
        "host": "a.com", "ssl": {"certificate_pem": "CERT", "private_key_pem": "KEY"}}))
    assert config.role("web").proxy.custom_ssl_certificate
