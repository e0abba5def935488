"""Importing policies and accounts through the command line, on SQLite and PostgreSQL."""

from tests.support.database import HEADER, account_json, run_cli, write

POLICIES = """\
creditors:
  - id: ACME
    name: Acme Telecom Ltd
    policy:
      settlement_pay_within_days: 14
      promise_max_days: 30
      tiers:
        bot:        {max_discount_pct: 20, max_plan_months: 12, min_installment: "25.00", min_down_payment_pct: 0}
        agent:      {max_discount_pct: 35, max_plan_months: 24, min_installment: "15.00", min_down_payment_pct: 0}
        supervisor: {max_discount_pct: 50, max_plan_months: 36, min_installment: "10.00", min_down_payment_pct: 0}
"""
GOOD_ROW = ("T-1001,ACME,Acme Mobile,Jo Test,1985-03-12,60614,+15551230001,jo@example.com,America/Chicago,USD,"
            "1100.00,84.56,50.00,2026-09-01\n")
SECOND_ROW = "T-1002,ACME,,Al Test,1970-01-31,10027,+15551230002,,America/New_York,USD,99.99,0,0,2026-10-01\n"




def test_accounts_import_and_show_as_json(db, tmp_path):
    run_cli("import-policies", str(write(tmp_path / "p.yml", POLICIES)), database=db)
    result = run_cli("import-accounts", str(write(tmp_path / "a.csv", HEADER + GOOD_ROW + SECOND_ROW)), database=db)
    assert "2 created" in result.stdout
    account = account_json(db, "t-1001")  # references match regardless of case
    assert account["account_ref"] == "T-1001"
    assert account["status"] == "open"
    assert account["balance"] == "1234.56"
    assert account["currency"] == "USD"
    assert (account["principal"], account["interest"], account["fees"]) == ("1100.00", "84.56", "50.00")
    assert account["creditor"] == {"id": "ACME", "name": "Acme Telecom Ltd"}
    assert account["validation_ends_on"] == "2026-10-06"
    for key in ("plans", "settlements", "promises", "disputes", "handoffs"):
        assert account[key] == []
    assert account["flags"] == {"sms_opt_out": False, "cease": False, "attorney": False, "bankruptcy": False,
                                "deceased": False, "deceased_reported": False}
    assert account_json(db, "T-1002")["original_creditor"] == "Acme Telecom Ltd"


def test_reimport_updates_and_never_duplicates(db, tmp_path):
    run_cli("import-policies", str(write(tmp_path / "p.yml", POLICIES)), database=db)
    csv_file = write(tmp_path / "a.csv", HEADER + GOOD_ROW)
    run_cli("import-accounts", str(csv_file), database=db)
    assert "1 unchanged" in run_cli("import-accounts", str(csv_file), database=db).stdout
    write(csv_file, HEADER + GOOD_ROW.replace("50.00,2026-09-01", "65.00,2026-09-01"))
    assert "1 updated" in run_cli("import-accounts", str(csv_file), database=db).stdout
    assert account_json(db, "T-1001")["balance"] == "1249.56"
    assert "1 unchanged" in run_cli("import-policies", str(tmp_path / "p.yml"), database=db).stdout
    audit = run_cli("audit", "T-1001", database=db).stdout
    assert audit.count("account_placed") == 1 and audit.count("account_updated") == 1


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(db, tmp_path):
    run_cli("import-policies", str(write(tmp_path / "p.yml", POLICIES)), database=db)
    rows = [
        GOOD_ROW,
        "T-2,ACME,,Bad Date,1985-13-45,1,+15551230003,,America/Chicago,USD,10.00,0,0,2026-09-01\n",
        "T-3,ACME,,Bad Money,1985-01-01,1,+15551230004,,America/Chicago,USD,ten,0,0,2026-09-01\n",
        "T-4,NOPE,,Unknown Creditor,1985-01-01,1,+15551230005,,America/Chicago,USD,10.00,0,0,2026-09-01\n",
        "T-5,ACME,,Bad Zone,1985-01-01,1,+15551230006,,Mars/Olympus,USD,10.00,0,0,2026-09-01\n",
        "T-6,ACME,,Bad Phone,1985-01-01,1,555-1234,,America/Chicago,USD,10.00,0,0,2026-09-01\n",
        "T-7,ACME,,Absurd,1985-01-01,1,+15551230007,,America/Chicago,USD,999999999999.00,0,0,2026-09-01\n",
        "T-1001,ACME,,Duplicate,1985-01-01,1,+15551230008,,America/Chicago,USD,10.00,0,0,2026-09-01\n",
    ]
    path = write(tmp_path / "a.csv", HEADER + "".join(rows))
    result = run_cli("import-accounts", str(path), database=db, check=False)
    assert result.returncode == 1
    assert "nothing imported" in result.stderr
    for line, reason in [(3, "date_of_birth"), (4, "ten"), (6, "Mars/Olympus"), (7, "phone"), (8, "implausibly large"),
                         (9, "already appears on line 2")]:
        assert f"line {line}: " in result.stderr and reason in result.stderr, (line, reason, result.stderr)
    assert run_cli("account", "T-1001", "--json", database=db, check=False).returncode == 3
    # the unknown creditor is reported once the rows themselves are sound
    result = run_cli("import-accounts", str(write(tmp_path / "b.csv", HEADER + GOOD_ROW + rows[3])), database=db,
                     check=False)
    assert result.returncode == 1 and "line 3: creditor_id NOPE has no policy" in result.stderr
    assert run_cli("account", "T-1001", database=db, check=False).returncode == 3


def test_malformed_files_are_refused_clearly(db, tmp_path):
    cases = {
        "missing.csv": None,
        "binary.csv": b"\x00\x01\x02\xff\xfe",
        "noheader.csv": b"just,some,columns\n1,2,3\n",
        "empty.csv": HEADER.encode(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = run_cli("import-accounts", str(path), database=db, check=False)
        assert result.returncode == 1, name
        assert "nothing imported" in result.stderr and "Traceback" not in result.stderr, (name, result.stderr)


def test_bad_policies_are_refused_with_line_numbers(db, tmp_path):
    bad = POLICIES.replace("max_discount_pct: 35", "max_discount_pct: 135") + """\
  - id: OTHER
    name: Other Co
    policy: {settlement_pay_within_days: 14, promise_max_days: 30, tiers: {bot: {}}}
"""
    result = run_cli("import-policies", str(write(tmp_path / "p.yml", bad)), database=db, check=False)
    assert result.returncode == 1
    assert "line 2: policy.tiers.agent.max_discount_pct must be between 0 and 100" in result.stderr
    assert "line 11: policy.tiers lacks agent, supervisor" in result.stderr
    path = write(tmp_path / "q.yml", "creditors: [unclosed")
    result = run_cli("import-policies", str(path), database=db, check=False)
    assert result.returncode == 1 and "not valid YAML" in result.stderr
    # nothing of the bad files was imported, so accounts for ACME are refused
    result = run_cli("import-accounts", str(write(tmp_path / "a.csv", HEADER + GOOD_ROW)), database=db, check=False)
    assert "has no policy" in result.stderr


def test_unknown_account_is_a_clear_error(db):
    result = run_cli("account", "NOPE-1", "--json", database=db, check=False)
    assert result.returncode == 3 and "no account with reference 'NOPE-1'" in result.stderr
