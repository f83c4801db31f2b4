"""Commands that exchange data or serve it: import-fhir, export-fhir, serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    OutputOpt,
    Outputs,
    RulesOpt,
    UserError,
    app,
    note,
    read,
)


@app.command("import-fhir")
def import_fhir(
    bundle: Annotated[Path, typer.Argument(help="FHIR R4 Bundle (JSON), e.g. US Core / mCODE.")],
    output: OutputOpt = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the import report (unmapped, notes, skipped) as JSON."),
    ] = None,
) -> None:
    """Read a FHIR R4 Bundle into a patient profile; list on stderr what could not be mapped."""
    import json

    from ..fhir import profile_json, read_fhir

    with Outputs(output, report) as out:
        result = read_fhir(bundle)
        out.write(output, profile_json(result.patient))
        if report is not None:
            out.write(report, json.dumps(result.report(), indent=2, ensure_ascii=False))
        out.commit()
    for line in result.warning_lines():
        note(line)


@app.command("export-fhir")
def export_fhir(
    patient: Annotated[Path, typer.Argument(help="Patient profile JSON file.")],
    output: OutputOpt = None,
) -> None:
    """Write a patient profile as a FHIR R4 Bundle (facts FHIR cannot express travel in an
    eligimatch extension)."""
    import json

    from ..fhir import export_bundle

    with Outputs(output) as out:
        bundle = export_bundle(read(patient), str(patient))
        out.write(output, json.dumps(bundle, indent=2, ensure_ascii=False))
        out.commit()


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (another address than loopback needs --users).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    db: Annotated[
        str | None, typer.Option("--db", help="SQLite file, or an SQLAlchemy URL (default: ./eligimatch.db).")
    ] = None,
    users: Annotated[
        Path | None, typer.Option(help="Sign-in against this user list (TOML with argon2 hashes).")
    ] = None,
    proxy_header: Annotated[
        str | None,
        typer.Option(help="Trust this header of a reverse proxy on this host for the user's name."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Name recorded for actions without sign-in (default: your login name).")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL of links in CDS Hooks cards (default: as requested).")
    ] = None,
    rules: RulesOpt = None,
) -> None:
    """Run the coordinator's web workspace, REST API and CDS Hooks service."""
    try:
        from ..web.server import make_settings
        from ..web.server import serve as run
    except ImportError as exc:
        raise UserError(
            f"eligimatch serve cannot start: {exc.name} is missing from this "
            "installation (reinstall eligimatch: pip install eligimatch)"
        ) from None
    settings = make_settings(
        host=host,
        db=db,
        rules=rules,
        users=users,
        proxy_header=proxy_header,
        user=user,
        public_url=public_url,
    )
    run(settings, host, port)
