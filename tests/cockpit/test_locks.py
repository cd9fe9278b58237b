"""The refresh lock and the scheduler lease keep one writer at a time, on both backends."""
from cockpit.db.dialect import write_transaction
from cockpit.scheduler import release_lease, try_acquire_lease


def test_a_second_refresh_lock_is_refused_while_the_first_is_held(engine):
    with write_transaction(engine, "cockpit-refresh") as first:
        assert first is not None
        with write_transaction(engine, "cockpit-refresh") as second:
            assert second is None
    with write_transaction(engine, "cockpit-refresh") as again:
        assert again is not None  # released at commit


def test_the_lease_has_one_holder_until_it_expires(engine):
    assert try_acquire_lease(engine, "host-a", ttl_s=90, now=1000.0)
    assert not try_acquire_lease(engine, "host-b", ttl_s=90, now=1010.0)
    assert try_acquire_lease(engine, "host-a", ttl_s=90, now=1060.0)  # renewal
    assert not try_acquire_lease(engine, "host-b", ttl_s=90, now=1149.0)
    assert try_acquire_lease(engine, "host-b", ttl_s=90, now=1151.0)  # a dead holder's lease lapsed
    assert not try_acquire_lease(engine, "host-a", ttl_s=90, now=1152.0)


def test_a_released_lease_is_free_at_once(engine):
    assert try_acquire_lease(engine, "host-a", ttl_s=90, now=1000.0)
    release_lease(engine, "host-a")
    assert try_acquire_lease(engine, "host-b", ttl_s=90, now=1001.0)
