"""`make test` needs nothing running: with no PostgreSQL at TEST_POSTGRES_URL, the tests start their own."""
from __future__ import annotations

import psycopg2
import pytest

from bot.sms.standin import free_port
from tests.support import postgres
from tests.support.database import postgres_admin_url


def test_with_no_server_answering_a_throwaway_one_is_started_used_and_removed(monkeypatch):
    monkeypatch.setenv("TEST_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    with postgres.server() as (url, where):
        assert "throwaway server" in where
        connection = psycopg2.connect(url, connect_timeout=5)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE collections_probe")
            cursor.execute("SELECT count(*) FROM pg_database WHERE datname = 'collections_probe'")
            assert cursor.fetchone() == (1,)
        connection.close()
    assert not postgres.answers(url)  # stopped, and its directory removed with it
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2)


def test_a_server_that_answers_is_used_as_it_is():
    session_server = postgres_admin_url()  # the machine's, or this run's throwaway one: it answers
    with postgres.server() as (url, where):
        assert url == session_server and where == f"the server at {session_server}"
