"""`casewise eval deid --presidio FILE --presidio-part tune|report|all`: rules are fitted on the first half of
Presidio's synthetic set and reported on the second, and the command says which half it read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.deid_eval import main
from indexing.deid import DeidResult, PhiSpan


class _FindsAnn:
    """Removes "Ann" wherever it is written, and nothing else."""

    entities = frozenset({"PERSON"})

    def deidentify(self, text: str, **_: object) -> DeidResult:
        i = text.find("Ann")
        return DeidResult(text, [PhiSpan("PERSON", i, i + 3)] if i >= 0 else [])

    def deidentify_many(self, texts: list[str], **_: object) -> list[DeidResult]:
        return [self.deidentify(t) for t in texts]


def _record(name: str) -> dict[str, object]:
    text = f"Seen by {name} today."
    return {"full_text": text, "spans": [{"entity_type": "PERSON", "entity_value": name, "start_position": 8,
                                          "end_position": 8 + len(name)}]}


@pytest.fixture
def synth_file(tmp_path: Path) -> Path:
    # first half: two records whose name is found; second half: two whose name is not
    f = tmp_path / "synth.json"
    f.write_text(json.dumps([_record("Ann"), _record("Ann"), _record("Bob"), _record("Eve")]), encoding="utf-8")
    return f


@pytest.mark.parametrize(("part", "documents", "recall"), [("tune", 2, 1.0), ("report", 2, 0.0), ("all", 4, 0.5)])
def test_each_part_reads_its_half_of_the_records(synth_file: Path, part: str, documents: int, recall: float,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--presidio", str(synth_file), "--presidio-part", part, "--json"], deid=_FindsAnn()) == 0  # type: ignore[arg-type]
    (report,) = json.loads(capsys.readouterr().out)
    assert report["documents"] == documents and report["per_entity"]["PERSON"]["token_recall"] == recall
    assert report["dataset"].endswith("]" if part != "all" else ".json")


def test_an_unknown_part_is_refused(synth_file: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--presidio", str(synth_file), "--presidio-part", "dev"], deid=_FindsAnn())  # type: ignore[arg-type]
