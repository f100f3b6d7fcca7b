"""Admin routes: documents, index jobs, eval reports, audit, keys."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import AdminKey, ApiSettingsDep, IndexingDep, RuntimeDep, max_upload_bytes
from api.errors import ERROR_RESPONSES, ApiError, ErrorResponse
from api.schemas import (
    AuditEntry,
    AuditList,
    AuditVerify,
    BackupRequest,
    DeleteResponse,
    DocumentList,
    DocumentPublic,
    IndexStatus,
    Job,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyPublic,
    ReindexRequest,
)
from api.services.indexing import public_document
from app import admin
from casewise.errors import RequestError

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

DocId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "not found"}}


def _link(path: str, method: str, parameters: dict[str, str], description: str) -> dict[str, Any]:
    """An OpenAPI link: how one response feeds the next call (clients and schemathesis's stateful runs follow it)."""
    return {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": parameters, "description": description}


UPLOAD_LINKS: dict[int | str, dict[str, Any]] = {201: {"links": {
    "DeleteDocument": _link("/v1/documents/{doc_id}", "delete", {"doc_id": "$response.body#/doc_id"},
                            "remove the uploaded document"),
    "GetCase": _link("/v1/cases/{case_id}", "get", {"case_id": "$response.body#/case_id"},
                     "the case the document was linked to (when it names a patient)")}}}
REINDEX_LINKS: dict[int | str, dict[str, Any]] = {202: {"links": {"GetJob": _link("/v1/index/jobs/{job_id}", "get", {"job_id": "$response.body#/job_id"},
                                                 "poll the job until it is done or failed")}}}
KEY_LINKS: dict[int | str, dict[str, Any]] = {201: {"links": {"RevokeKey": _link("/v1/keys/{key_id}", "delete", {"key_id": "$response.body#/key_id"},
                                                "revoke the new key")}}}


# -- documents ----------------------------------------------------------------------------------------------------
@router.get("/documents", response_model=DocumentList, tags=["documents"], summary="The manifest")
def documents(key: AdminKey, rt: RuntimeDep, indexing: IndexingDep) -> DocumentList:
    listing = indexing.documents()
    admin.record(rt, key.actor, "documents_list", documents=len(listing.documents))
    return listing


@router.post("/documents", response_model=DocumentPublic, status_code=201, tags=["documents"], responses=UPLOAD_LINKS,
             summary="Upload a file; it is saved under data_dir/uploads and indexed")
async def upload(key: AdminKey, rt: RuntimeDep, indexing: IndexingDep, api: ApiSettingsDep,
                 file: Annotated[UploadFile, File(description="pdf, docx, txt, md, html, eml, csv or xlsx")]) -> Any:
    limit = max_upload_bytes(api, rt.settings)
    path = await run_in_threadpool(indexing.save_upload, file.filename or "", file.file, limit)
    row = await run_in_threadpool(indexing.index_upload, path)
    admin.record(rt, key.actor, "document_upload", case_ids=[row.case_id] if row.case_id else [],
                 doc_id=row.doc_id, status=row.status)
    return public_document(row)


@router.delete("/documents/{doc_id}", response_model=DeleteResponse, tags=["documents"], responses=NOT_FOUND,
               summary="Remove a document from the index (and delete it when it was uploaded)")
def delete_document(doc_id: DocId, key: AdminKey, rt: RuntimeDep, indexing: IndexingDep) -> DeleteResponse:
    row = indexing.document(doc_id)
    if row is None:
        raise ApiError(404, "document_not_found", f"no document {doc_id!r}")
    indexing.delete(row)
    admin.record(rt, key.actor, "document_delete", case_ids=[row.case_id] if row.case_id else [], doc_id=doc_id)
    return DeleteResponse(deleted=True, id=doc_id)


# -- index --------------------------------------------------------------------------------------------------------
@router.post("/index/reindex", response_model=Job, status_code=202, tags=["index"], responses=REINDEX_LINKS,
             summary="Start a background re-index (only new, changed and deleted files); returns the job")
def reindex(key: AdminKey, rt: RuntimeDep, indexing: IndexingDep, body: ReindexRequest | None = None) -> Job:
    roots = indexing.resolve_roots(body.paths if body else None)
    rebuild = bool(body and body.rebuild)
    job = indexing.start_reindex(roots, rebuild=rebuild)
    admin.audit_reindex_job(rt, key.actor, job.job_id, len(roots), rebuild)
    return job


@router.post("/index/backup", tags=["index"], summary="Write a backup archive (store + index + config) on the server")
def backup(key: AdminKey, rt: RuntimeDep, indexing: IndexingDep, body: BackupRequest) -> dict[str, Any]:
    path = FsPath(body.path).expanduser()
    if not path.is_absolute():
        raise RequestError("path", "must be an absolute path on the server")
    manifest = admin.backup(rt, path, actor=key.actor, guard=indexing.writer)
    return {k: v for k, v in manifest.items() if k != "files"}


@router.get("/index/status", response_model=IndexStatus, tags=["index"], summary="Index size and jobs")
def index_status(key: AdminKey, indexing: IndexingDep) -> IndexStatus:
    return indexing.status()


@router.get("/index/jobs/{job_id}", response_model=Job, tags=["index"], responses=NOT_FOUND, summary="One job")
def index_job(job_id: Annotated[str, Path(max_length=64)], key: AdminKey, indexing: IndexingDep) -> Job:
    job = indexing.job(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}")
    return job


# -- audit --------------------------------------------------------------------------------------------------------
@router.get("/audit/verify", response_model=AuditVerify, tags=["audit"], summary="Recompute the audit hash chain")
def audit_verify(key: AdminKey, rt: RuntimeDep) -> AuditVerify:
    ok, n, bad = rt.store.verify_audit()
    return AuditVerify(ok=ok, entries=n, first_bad_seq=bad)


@router.get("/audit", response_model=AuditList, tags=["audit"], summary="Audit entries (this read is audited too)")
def audit_list(key: AdminKey, rt: RuntimeDep, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditList:
    rows = admin.audit_page(rt, after=after, limit=limit, actor=key.actor)
    return AuditList(entries=[AuditEntry(seq=r.seq, at=r.at, actor=r.actor, action=r.action, query=r.query,
                                         case_ids=r.case_ids, detail=r.detail, hash=r.hash) for r in rows])


# -- keys ---------------------------------------------------------------------------------------------------------
@router.get("/keys", response_model=KeyList, tags=["keys"], summary="API keys (never the secrets)")
def keys(key: AdminKey, rt: RuntimeDep) -> KeyList:
    return KeyList(keys=[KeyPublic(**vars(k)) for k in admin.keys(rt, actor=key.actor)])


@router.post("/keys", response_model=KeyCreated, status_code=201, tags=["keys"], responses=KEY_LINKS,
             summary="Create a key; the response holds the key, which is not shown again")
def new_key(body: KeyCreate, key: AdminKey, rt: RuntimeDep) -> KeyCreated:
    info, secret = admin.new_key(rt, body.name, body.role, actor=key.actor)
    return KeyCreated(**vars(info), key=secret)


@router.delete("/keys/{key_id}", response_model=DeleteResponse, tags=["keys"], responses=NOT_FOUND,
               summary="Revoke a key")
def delete_key(key_id: Annotated[str, Path(max_length=32)], key: AdminKey, rt: RuntimeDep) -> DeleteResponse:
    if not admin.revoke(rt, key_id, actor=key.actor):
        raise ApiError(404, "key_not_found", f"no key {key_id!r}")
    return DeleteResponse(deleted=True, id=key_id)
