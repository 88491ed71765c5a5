import redis

from receptionist.runtime.embedded_redis import EmbeddedRedis


def test_start_reuse_persist_and_stop(tmp_path):
    """The embedded server starts from the pip-installed binary, is reused, keeps data across restarts, stops."""
    server = EmbeddedRedis(tmp_path)
    url = server.ensure_running()
    try:
        assert EmbeddedRedis(tmp_path).ensure_running() == url  # reused, not a second server
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        client.close()
        assert server.stop()
        assert server.url is None
        url2 = server.ensure_running()
        assert redis.Redis.from_url(url2).get("k") == b"v"
        assert (tmp_path / "redis" / "appendonlydir").is_dir()
    finally:
        server.stop()
    assert not server.stop()
