"""Every command ends in one line and an exit code, never a bare traceback."""

import pytest

from harness import cli
from harness.errors import EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE


def test_an_unexpected_error_is_one_line_a_log_and_exit_3(tmp_path, monkeypatch, capsys):
    import harness.analysis.report as report

    def broken(_run_dir):
        raise KeyError("windows")

    monkeypatch.setattr(report, "write_report", broken)
    code = cli.main(["--state-dir", str(tmp_path / "state"), "report", str(tmp_path)])
    assert code == EXIT_INFRASTRUCTURE
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: `shieldlab report` failed unexpectedly: KeyError: 'windows'")
    (log,) = (tmp_path / "state" / "logs").glob("shieldlab-crash-*.log")
    assert line.endswith(str(log))
    assert "Traceback" in log.read_text() and "KeyError" in log.read_text()


def test_with_debug_the_traceback_is_shown_too(tmp_path, monkeypatch, capsys):
    import harness.analysis.report as report

    monkeypatch.setattr(report, "write_report", lambda _d: 1 / 0)
    code = cli.main(["--debug", "--state-dir", str(tmp_path / "state"), "report", str(tmp_path)])
    assert code == EXIT_INFRASTRUCTURE
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "/no/such/run"],
        ["check", "/no/such/run"],
        ["gate", "no-such-suite"],
        ["validate", "--signature", "no-such-signature"],
        ["run", "baselin"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv):
    code = cli.main(["--state-dir", str(tmp_path / "state"), *argv])
    assert code == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ")
