"""Recording agreements through the command line: the one authorisation check, one transaction, no duplicates."""
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.cli import DEMO
from tests.support.database import account_json, run_cli


def today_chicago() -> date:  # ACC-1001's debtor lives in America/Chicago
    return datetime.now(ZoneInfo("America/Chicago")).date()


def demo(db):
    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    run_cli("import-accounts", str(DEMO / "accounts.csv"), database=db)




def agree(db, *args, check=False):
    return run_cli("agree", "ACC-1001", *args, database=db, check=check)


def test_a_plan_within_the_tier_is_recorded_whole(db):
    demo(db)
    first = (today_chicago() + timedelta(days=7)).isoformat()
    result = agree(db, "plan", "--amount", "150.00", "--date", first, "--tier", "agent", "--actor", "alice")
    assert result.returncode == 0, result.stderr
    state = account_json(db)
    assert state["status"] == "plan_active"
    [plan] = state["plans"]
    assert plan["status"] == "active" and plan["authorized_by"] == "agent" and plan["authorized_actor"] == "alice"
    assert plan["total"] == "1234.56"
    amounts = [Decimal(i["amount"]) for i in plan["installments"]]
    assert amounts == [Decimal("150.00")] * 8 + [Decimal("34.56")] and plan["installments"][0]["due_on"] == first
    assert "plan_agreed" in run_cli("audit", "ACC-1001", database=db).stdout


def test_beyond_the_tier_nothing_is_written_and_the_tier_that_could_is_named(db):
    demo(db)
    pay_by = today_chicago().isoformat()
    result = agree(db, "settlement", "--amount", "900.00", "--date", pay_by, "--tier", "bot", "--actor", "assistant")
    assert result.returncode == 4
    assert "is more than 20%" in result.stderr and "needs: agent" in result.stderr
    result = agree(db, "settlement", "--amount", "500.00", "--date", pay_by, "--tier", "supervisor", "--actor", "sue")
    assert result.returncode == 4 and "needs: no tier may agree this" in result.stderr
    result = agree(db, "plan", "--months", "30", "--date", pay_by, "--tier", "agent", "--actor", "alice")
    assert result.returncode == 4
    assert "30 months is longer than 24" in result.stderr and "needs: supervisor" in result.stderr
    state = account_json(db)
    assert state["status"] == "open" and state["plans"] == [] and state["settlements"] == []


def test_a_new_agreement_supersedes_the_old_one_and_retries_never_duplicate(db):
    demo(db)
    day = today_chicago().isoformat()
    plan = ("plan", "--months", "10", "--date", day, "--tier", "bot", "--actor", "assistant", "--conversation", "c1")
    assert "recorded" in agree(db, *plan, check=True).stdout
    assert "already recorded" in agree(db, *plan, check=True).stdout
    assert len(account_json(db)["plans"]) == 1
    agree(db, "settlement", "--amount", "1000.00", "--date", day, "--tier", "bot", "--actor", "assistant",
          "--conversation", "c1", check=True)
    state = account_json(db)
    assert [p["status"] for p in state["plans"]] == ["superseded"]
    assert [s["status"] for s in state["settlements"]] == ["pending"]
    assert state["settlements"][0]["discount_pct"] == "19.00" and state["status"] == "settlement_pending"
    assert "agreement_superseded" in run_cli("audit", "ACC-1001", database=db).stdout


def test_bad_input_is_refused_clearly(db):
    demo(db)
    day = today_chicago().isoformat()
    for args, words in [
        (("promise", "--amount", "-5", "--date", day), "not a decimal string"),
        (("promise", "--amount", "99999999999", "--date", day), "implausibly large"),
        (("promise", "--amount", "10.00", "--date", "someday"), "not an ISO 8601 date"),
        (("promise", "--amount", "10.00", "--date", (today_chicago() + timedelta(days=90)).isoformat()),
         "within 30 days"),
    ]:
        result = agree(db, *args, "--tier", "bot", "--actor", "assistant")
        assert result.returncode in (1, 4), result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert run_cli("agree", "NOPE", "promise", "--amount", "1", "--date", day, "--tier", "bot", "--actor", "x",
                   database=db, check=False).returncode == 3
    assert account_json(db)["promises"] == []
