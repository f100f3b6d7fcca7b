"""Evaluation report runs (`casewise eval run`, `eval retrieval --report`, `eval deid --report`, the nightly eval):
the list with each run's headline numbers, one run's JSON, its self-contained HTML page and its Markdown summary."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import ClinicianKey, RuntimeDep
from api.errors import ERROR_RESPONSES, ApiError, ErrorResponse
from app import admin

router = APIRouter(prefix="/v1", tags=["reports"], responses=ERROR_RESPONSES)

RunId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                            description="run id, e.g. 20261129T161500123Z-run")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "no such run"}}


class ReportRun(BaseModel):
    """One evaluation run as listed."""

    id: str
    kind: str = Field(description="run (question set), codiesp-<lang>, deid ...")
    title: str
    created_at: str
    headline: dict[str, float] = Field(description="section.metric -> value, e.g. retrieval.recall@10")
    links: dict[str, str]


class ReportRunList(BaseModel):
    reports: list[ReportRun]


def _root(rt: RuntimeDep) -> FsPath:
    from eval.report import reports_root

    return reports_root(rt.settings)


def _folder(rt: RuntimeDep, run_id: str) -> FsPath:
    from eval.report.history import REPORT_JSON

    folder = _root(rt) / run_id
    if ".." in run_id or not (folder / REPORT_JSON).is_file():
        raise ApiError(404, "report_not_found", f"no report run {run_id!r}")
    return folder


@router.get("/reports", response_model=ReportRunList, summary="Evaluation report runs, newest first")
def reports(key: ClinicianKey, rt: RuntimeDep) -> ReportRunList:
    from eval.report import list_runs

    runs = list_runs(_root(rt))
    admin.record(rt, key.actor, "reports_list", runs=len(runs))
    return ReportRunList(reports=[
        ReportRun(id=r.run_id, kind=r.kind, title=r.title, created_at=r.created_at, headline=r.headline,
                  links={"json": f"/v1/reports/{r.run_id}", "html": f"/v1/reports/{r.run_id}/html",
                         "markdown": f"/v1/reports/{r.run_id}/markdown"})
        for r in runs])


@router.get("/reports/{run_id}", summary="One run's report (JSON)", responses={
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}, **NOT_FOUND})
def report(run_id: RunId, key: ClinicianKey, rt: RuntimeDep) -> Response:
    from eval.report.history import REPORT_JSON

    body = (_folder(rt, run_id) / REPORT_JSON).read_bytes()
    admin.record(rt, key.actor, "report_read", run=run_id, format="json")
    return Response(body, media_type="application/json")


@router.get("/reports/{run_id}/html", summary="One run's report as a self-contained HTML page", responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **NOT_FOUND})
def report_html(run_id: RunId, key: ClinicianKey, rt: RuntimeDep) -> Response:
    from eval.report.history import REPORT_HTML
    from eval.report.html import REPORT_CSP

    path = _folder(rt, run_id) / REPORT_HTML
    if not path.is_file():
        raise ApiError(404, "report_not_found", f"run {run_id!r} has no HTML report")
    admin.record(rt, key.actor, "report_read", run=run_id, format="html")
    # The page's own policy: its one style block and data: images; no script, no other resource.
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/reports/{run_id}/markdown", summary="One run's Markdown summary", responses={
    200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}, **NOT_FOUND})
def report_markdown(run_id: RunId, key: ClinicianKey, rt: RuntimeDep) -> Response:
    from eval.report.history import REPORT_MD

    path = _folder(rt, run_id) / REPORT_MD
    if not path.is_file():
        raise ApiError(404, "report_not_found", f"run {run_id!r} has no Markdown summary")
    admin.record(rt, key.actor, "report_read", run=run_id, format="markdown")
    return Response(path.read_bytes(), media_type="text/markdown; charset=utf-8")
