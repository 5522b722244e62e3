from pathlib import Path

from alliance_ops.contract_docs import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONTRACT.md"


def test_the_contract_document_says_what_the_code_does():
    assert DOC.read_text(encoding="utf-8") == render(), "regenerate it: .venv/bin/alliance contract > docs/CONTRACT.md"
