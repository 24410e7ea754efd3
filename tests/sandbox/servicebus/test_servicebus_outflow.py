"""The broker's settlement of deliveries on links it no longer tracks (receivers closing at shutdown)."""

from __future__ import annotations

from proton import Connection, Delivery

from sandbox.servicebus._outflow import Outflow


def _delivery_on_an_untracked_link() -> Delivery:
    link = Connection().session().sender("ppmi-work")
    return link.delivery("tag-1")


def test_a_disposition_for_a_forgotten_receiver_is_ignored_without_error() -> None:
    delivery = _delivery_on_an_untracked_link()
    Outflow().settle(delivery.link, delivery)
    assert not delivery.settled  # nothing came from the peer, so nothing is settled locally either
