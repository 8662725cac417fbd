from __future__ import annotations

from lessons.storage.models import Lesson, LessonTag
from retrieval.explain import explain
from retrieval.text import chunks, content_hash, lesson_text


def _lesson() -> Lesson:
    lesson = Lesson(
        id=1,
        title="Order fridges early",
        observation="The fridges arrived late. Staff waited.",
        insight="Procurement started after approval.",
        recommendation="Order at draft plan.",
    )
    lesson.tag_links = [LessonTag(lesson_id=1, tag="cold-chain")]
    return lesson


def test_lesson_text_has_every_section_and_tags() -> None:
    text = lesson_text(_lesson())
    for part in (
        "Order fridges early",
        "arrived late",
        "after approval",
        "draft plan",
        "cold chain",
    ):
        assert part in text


def test_content_hash_changes_with_text_and_model_only() -> None:
    assert content_hash("m", "a") == content_hash("m", "a")
    assert content_hash("m", "a") != content_hash("m", "b")
    assert content_hash("m", "a") != content_hash("n", "a")


def test_chunks_keep_every_word_within_the_limit() -> None:
    text = " ".join(f"Sentence number {i} has some words in it." for i in range(100))
    pieces = chunks(text, 40)
    assert all(len(p.split()) <= 40 for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_chunks_split_one_enormous_sentence() -> None:
    text = " ".join(["word"] * 250)
    pieces = chunks(text, 100)
    assert [len(p.split()) for p in pieces] == [100, 100, 50]


def test_explain_finds_shared_terms_and_best_sentence() -> None:
    why = explain(_lesson(), "Will the vaccine fridges arrive in time?")
    assert "fridges" in why.matched_terms
    assert why.best_sentence == "The fridges arrived late."


def test_highlight_marks_words_sharing_a_stem_with_the_brief() -> None:
    why = explain(_lesson(), "fridge arrival")
    assert why.highlighted == [
        ("The ", False),
        ("fridges", True),
        (" ", False),
        ("arrived", True),
        (" late.", False),
    ]
    assert "".join(text for text, _ in why.highlighted) == why.best_sentence


def test_explain_splits_hyphenated_terms() -> None:
    why = explain(_lesson(), "cold chain")
    assert {"cold", "chain"} <= set(why.matched_terms)
