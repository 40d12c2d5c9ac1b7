"""Running the CLI in process, as the tests that check its error lines do."""

from __future__ import annotations

from compatlab.cli import main


def one_line(capsys, argv, code=2) -> str:
    """Run the CLI in process; it must exit ``code`` with exactly one error line and no traceback."""
    try:
        got = main(argv)
    except SystemExit as exit_:
        got = exit_.code
    err = capsys.readouterr().err
    assert got == code, err
    assert err.count("\n") == 1 and err.startswith("compatlab: error: ") and "Traceback" not in err, err
    return err
