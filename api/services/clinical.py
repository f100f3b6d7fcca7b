"""Clinical operations for the API: ask (whole or streamed), similar cases, one case, over app.clinical (which
de-identifies, times and audits each one); this module adds the index's read lock and HTTP errors."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, cast

from api.errors import ApiError, error_payload
from api.services.locks import ReadWriteLock
from app import clinical
from casewise.errors import RequestError
from casewise.types import Answer, Case, Filters, Language, SimilarCase
from casewise.vocabulary import Vocabulary

if TYPE_CHECKING:
    from app.runtime import Runtime

Stream = Iterator["str | Answer"]


class ClinicalService:
    """Ask, similar and case reads over one Runtime; searches hold the index's read lock."""

    def __init__(self, rt: Runtime, lock: ReadWriteLock) -> None:
        self.rt = rt
        self.lock = lock
        self._evidence_rt: Runtime | None = None

    def runtime_for(self, evidence_only: bool) -> Runtime:
        """The Runtime, or a view of it whose settings switch the LLM off (same store, index, embedder, de-identifier)."""
        if not evidence_only or self.rt.settings.llm.backend == "none":
            return self.rt
        if self._evidence_rt is None:
            llm_off = self.rt.settings.llm.model_copy(update={"backend": "none"})
            self._evidence_rt = self.rt.view(self.rt.settings.model_copy(update={"llm": llm_off}))
        return self._evidence_rt

    # -- ask ------------------------------------------------------------------------------------------------------
    def ask(self, question: str, *, filters: Filters | None, k: int | None, language: Language | None,
            actor: str, evidence_only: bool = False) -> Answer:
        with self.lock.read():
            return clinical.ask(self.runtime_for(evidence_only), question, filters=filters, k=k, language=language,
                               actor=actor)

    def ask_stream(self, question: str, *, filters: Filters | None, k: int | None, language: Language | None,
                   actor: str, evidence_only: bool = False) -> Stream:
        """Start answering: retrieval (and the first text) happens now, so errors become proper HTTP statuses;
        the rest streams. A stream that stops early after sending text is audited as `ask_aborted`."""
        rt = self.runtime_for(evidence_only)
        gen = cast("Generator[str | Answer, None, None]",
                   clinical.ask_stream(rt, question, filters=filters, k=k, language=language, actor=actor))
        with self.lock.read():
            first = next(gen)
        return self._guard(gen, first, question, actor)

    def _guard(self, gen: Generator[str | Answer, None, None], first: str | Answer, question: str, actor: str) -> Stream:
        audited = isinstance(first, Answer)
        failed: str | None = None
        try:
            yield first
            for item in gen:
                if isinstance(item, Answer):
                    audited = True  # app.clinical wrote the entry just before yielding the Answer
                yield item
        except Exception as exc:
            failed = type(exc).__name__
            raise
        finally:
            if not audited:
                gen.close()
                clinical.audit_aborted(self.rt, question, actor, failed or "client disconnected")

    # -- similar and cases ----------------------------------------------------------------------------------------
    def similar(self, description: str | None, case_id: str | None, *, filters: Filters | None, k: int | None,
                actor: str) -> list[SimilarCase]:
        if not description and not case_id:
            raise RequestError("description", "give a description or a case_id")
        if case_id and self.rt.store.get_case(case_id) is None:
            raise ApiError(404, "case_not_found", f"no case {case_id!r}")
        with self.lock.read():
            return clinical.similar(self.rt, description, case_id=case_id, filters=filters, k=k, actor=actor)

    def vocabulary(self) -> Vocabulary:
        return clinical.vocabulary(self.rt)

    def case(self, case_id: str, actor: str) -> Case:
        case = clinical.case(self.rt, case_id, actor=actor)
        if case is None:
            raise ApiError(404, "case_not_found", f"no case {case_id!r}")
        return case


def sse(data: object, event: str | None = None) -> str:
    """One server-sent event."""
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    return (f"event: {event}\n" if event else "") + f"data: {body}\n\n"


def sse_error(exc: BaseException) -> str:
    _, body = error_payload(exc)
    return sse(body, "error")
