"""`ppmi verify --connector-id`: the custom connector's side of `ppmi verify` (its options)."""

from __future__ import annotations

import argparse

CONNECTOR_EXAMPLE = """\
  # a custom connector with managed identity: the app, ppmi's FIC with the connector's values, redirect URI
  ppmi verify --environment-id 5f1c3a2e-... --connector-id shared_contoso-5fweather \\
      --application-id 3b676527-... --subject /eid1/c/pub/t/.../a/.../weu-001_..."""


def add_connector_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("custom connectors (instead of plug-ins)")
    group.add_argument("--connector-id", help="check this custom connector's FIC and redirect URI")
    group.add_argument("--application-id", help="the connector's app registration (application ID)")
    group.add_argument("--issuer", help="the issuer the connector shows (default: the FIC's own)")
    group.add_argument("--subject", help="the subject the connector shows (default: the FIC's own)")
    group.add_argument("--redirect-url", help="the connector's redirect URL (default: the one ppmi noted)")


def connector_requested(args: argparse.Namespace) -> bool:
    return bool(args.connector_id)


def missing_connector_option(args: argparse.Namespace) -> str | None:
    if not args.application_id:
        return "--connector-id needs --application-id, the app registration the connector uses"
    if args.plugin_package_id or args.plugin_assembly_id or args.certificate:
        return "--connector-id checks a connector; leave out the plug-in options"
    return None
