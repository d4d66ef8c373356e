"""MiraklClient against an HTTP simulator that misbehaves: retries, budgets, ambiguous writes.

Waits are observed through the injected sleep (FakeClock), never through wall time.
"""

from __future__ import annotations

import pytest
import structlog

from bridge.errors import MiraklAuthError, MiraklFatalError, MiraklRetriableError
from bridge.mirakl import MiraklClient
from bridge.sandbox import MiraklSimulator, generate_orders


def test_three_429_with_retry_after_are_waited_out_then_the_read_succeeds(sim, client, clock) -> None:
    sim.fail_next(3, status=429, retry_after=2, endpoint="A01")
    assert client.account()["shop_state"] == "OPEN"
    assert len(sim.requests_to("A01")) == 4
    assert clock.sleeps == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_on_a_read_are_retried_with_exponential_backoff(sim, client, clock, status) -> None:
    sim.fail_next(2, status=status, endpoint="SH21")
    assert len(client.carriers()) == 3
    assert len(sim.requests_to("SH21")) == 3
    # rng() == 0 -> half of 1 s, then half of 2 s
    assert clock.sleeps == [0.5, 1.0]


def test_attempts_stop_at_max_attempts(sim, make_client, clock) -> None:
    client = make_client(max_attempts=3)
    sim.fail_next(10, status=503, endpoint="A01")
    with pytest.raises(MiraklRetriableError) as err:
        client.account()
    assert err.value.status == 503
    assert len(sim.requests_to("A01")) == 3
    assert len(clock.sleeps) == 2


def test_retry_after_is_capped_by_the_remaining_budget_and_retries_stop_when_it_is_spent(
    sim, make_client, clock
) -> None:
    client = make_client(max_attempts=10, max_retry_s=5.0)
    sim.fail_next(10, status=429, retry_after=2, endpoint="A01")
    with pytest.raises(MiraklRetriableError) as err:
        client.account()
    assert err.value.status == 429
    assert clock.sleeps == [2.0, 2.0, 1.0]  # 5 s budget: 2 + 2 + the 1 s left
    assert len(sim.requests_to("A01")) == 4


def test_a_read_timeout_is_retried_then_reported_as_retriable(sim, make_client, clock) -> None:
    client = make_client(read_timeout_s=0.3, max_attempts=2)
    sim.slow_next(2, delay_s=1.0, endpoint="A01")
    with pytest.raises(MiraklRetriableError, match="read timeout"):
        client.account()
    assert len(sim.requests_to("A01")) == 2
    assert len(clock.sleeps) == 1


def test_a_read_timeout_followed_by_a_fast_answer_succeeds(sim, make_client) -> None:
    client = make_client(read_timeout_s=0.3)
    sim.slow_next(1, delay_s=1.0, endpoint="SH21")
    assert len(client.carriers()) == 3


@pytest.mark.parametrize("fault", ["truncate_next", "malformed_next"])
def test_unreadable_json_on_a_2xx_is_retried(sim, client, clock, fault) -> None:
    sim.add_orders(generate_orders(3, ["A", "B"], seed=4))
    getattr(sim, fault)(1, endpoint="OR11")
    orders, invalid = client.list_orders()
    assert (len(orders), invalid) == (3, [])
    assert len(sim.requests_to("OR11")) == 2
    assert len(clock.sleeps) == 1


def test_unreadable_json_every_time_ends_as_retriable(sim, make_client) -> None:
    client = make_client(max_attempts=2)
    sim.malformed_next(5, endpoint="A01")
    with pytest.raises(MiraklRetriableError, match="malformed"):
        client.account()


def test_a_wrong_key_raises_auth_error_naming_the_platform_without_retry(sim, client, clock) -> None:
    sim.api_key = "other"
    with pytest.raises(MiraklAuthError) as err:
        client.account()
    assert "simshop" in str(err.value)
    assert err.value.status == 401
    assert len(sim.requests) == 1 and clock.sleeps == []


def test_a_wrong_shop_id_is_an_auth_error(make_client) -> None:
    sim_shop = MiraklSimulator(api_key="k-123456", shop_id=7)
    with sim_shop:
        client = make_client(api_url=sim_shop.url, api_key="k-123456", shop_id=8)
        with pytest.raises(MiraklAuthError):
            client.account()


def test_a_page_repeating_whatever_the_offset_trips_the_pagination_guard(sim, client) -> None:
    sim.add_orders(generate_orders(30, ["A", "B"], seed=5))
    sim.repeat_page()
    with pytest.raises(MiraklRetriableError, match="pagination loop"):
        client.list_orders(page_size=10)
    assert len(sim.requests_to("OR11")) == 2


def test_more_than_100_order_ids_in_one_call_is_refused_by_the_simulator(sim) -> None:
    import urllib.error
    import urllib.request

    ids = ",".join(f"O-{i}" for i in range(101))
    req = urllib.request.Request(
        f"{sim.url}/api/orders?order_ids={ids}", headers={"Authorization": sim.api_key}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    assert b"The limit of 100 is exceeded for the parameter : order_ids" in err.value.read()


def test_or21_failing_after_being_applied_is_reported_done_after_a_re_read(sim, client, clock) -> None:
    sim.add_order(order_id="AMB-1", skus=["A", "B"])
    sim.fail_after_apply_next(endpoint="OR21")
    assert client.accept_order("AMB-1", {"AMB-1-1": True, "AMB-1-2": True}) == "done"
    assert len(sim.requests_to("OR21")) == 1  # not resent
    assert len(sim.requests_to("OR11")) == 1  # the verifying re-read
    assert len(sim.decisions["AMB-1"]) == 1


def test_or21_failing_before_being_applied_is_resent_after_the_re_read(sim, client, clock) -> None:
    sim.add_order(order_id="AMB-2", skus=["A"])
    sim.fail_next(1, status=502, endpoint="OR21")
    assert client.accept_order("AMB-2", {"AMB-2-1": False}) == "done"
    assert len(sim.requests_to("OR21")) == 2
    assert sim.orders["AMB-2"]["order_state"] == "REFUSED"


def test_or21_timing_out_while_the_platform_applies_it_is_done(sim, make_client) -> None:
    client = make_client(read_timeout_s=0.3)
    sim.add_order(order_id="AMB-3", skus=["A"])
    sim.slow_next(1, delay_s=1.0, endpoint="OR21")
    assert client.accept_order("AMB-3", {"AMB-3-1": True}) == "done"
    # the re-read ran while the slow request was still in flight (not applied yet), so the decision
    # was resent; the platform applied exactly one of the two
    assert len(sim.requests_to("OR21")) == 2
    assert len(sim.decisions["AMB-3"]) == 1


def test_or24_failing_after_being_applied_is_done_and_a_second_call_already_shipped(sim, client) -> None:
    sim.add_order(order_id="AMB-4", skus=["A"], state="SHIPPING")
    sim.fail_after_apply_next(endpoint="OR24", status=503)
    assert client.ship_order("AMB-4") == "done"
    assert client.ship_order("AMB-4") == "already_shipped"
    assert len(sim.requests_to("OR24")) == 2


def test_or23_failing_after_being_applied_is_done(sim, client) -> None:
    sim.add_order(order_id="AMB-5", skus=["A"], state="SHIPPING")
    sim.fail_after_apply_next(endpoint="OR23")
    assert client.update_tracking("AMB-5", carrier_code="DHL", tracking_number="JD01") == "done"
    assert len(sim.requests_to("OR23")) == 1


def test_of01_with_an_ambiguous_failure_is_not_resent(sim, client) -> None:
    sim.fail_after_apply_next(endpoint="OF01")
    with pytest.raises(MiraklRetriableError):
        client.import_offers('"sku";"product-id";"price";"quantity"\n"A";"1";"1.00";"1"\n')
    assert len(sim.requests_to("OF01")) == 1


def test_of01_rate_limited_is_resent_because_nothing_was_applied(sim, client, clock) -> None:
    sim.fail_next(1, status=429, retry_after=3, endpoint="OF01")
    import_id = client.import_offers('"sku";"product-id";"price";"quantity"\n"A";"1";"1.00";"1"\n')
    assert len(sim.requests_to("OF01")) == 2
    assert clock.sleeps == [3.0]
    assert [u.import_id for u in sim.uploads] == [import_id]


def test_other_4xx_are_fatal_with_mirakls_message_and_not_retried(sim, client, clock) -> None:
    sim.fail_next(1, status=400, endpoint="A01", message="Parameter 'x' is invalid")
    with pytest.raises(MiraklFatalError) as err:
        client.account()
    assert err.value.mirakl_message == "Parameter 'x' is invalid"
    assert clock.sleeps == []


def test_a_connection_refused_is_retriable(make_client, clock) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(api_url=f"http://127.0.0.1:{port}", max_attempts=2)
    with pytest.raises(MiraklRetriableError, match="refused"):
        client.account()
    assert len(clock.sleeps) == 1


def test_request_and_retry_log_events_never_contain_the_key(sim, client: MiraklClient) -> None:
    sim.fail_next(1, status=429, retry_after=1, endpoint="A01")
    with structlog.testing.capture_logs() as logs:
        client.account()
    requests_logged = [e for e in logs if e["event"] == "mirakl.request"]
    assert [(e["endpoint"], e["status"], e["attempt"]) for e in requests_logged] == [
        ("A01", 429, 1),
        ("A01", 200, 2),
    ]
    assert requests_logged[0]["path"] == "/api/account" and requests_logged[0]["method"] == "GET"
    assert "duration_ms" in requests_logged[0]
    assert [e["wait_s"] for e in logs if e["event"] == "mirakl.retry"] == [1.0]
    assert sim.api_key not in repr(logs)


def test_of01_from_a_file_rate_limited_is_resent_whole(sim, client, clock, tmp_path) -> None:
    csv_text = '"sku";"product-id";"price";"quantity"\n"A";"1";"1.00";"1"\n'
    path = tmp_path / "offers.csv"
    path.write_text(csv_text, encoding="utf-8")
    sim.fail_next(1, status=429, retry_after=3, endpoint="OF01")
    import_id = client.import_offers_file(path)
    assert len(sim.requests_to("OF01")) == 2
    assert [(u.import_id, u.text) for u in sim.uploads] == [(import_id, csv_text)]
