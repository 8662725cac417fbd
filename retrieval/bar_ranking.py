"""What a BAR needs of the retriever (`lessons.bar.reading.BarRanker`): rank a brief, take a
stored BAR's figures again for a reader, explain a lesson with the sentence the run chose."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.schemas import SearchFilters
from lessons.storage.models import BarItem, BeforeActionReview, Lesson
from retrieval import feedback
from retrieval.explain import Explanation, explain
from retrieval.fusion import Fused, FusionParams
from retrieval.service import Ranking, Retriever


class BarRanking:
    """The retriever as a BAR uses it."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    @property
    def model(self) -> str:
        return self.retriever.model

    def rank(
        self,
        session: Session,
        brief: str,
        *,
        viewer: Viewer,
        filters: SearchFilters | None,
        limit: int,
    ) -> Ranking:
        return self.retriever.rank(session, brief, viewer=viewer, filters=filters, limit=limit)

    def rescore(
        self,
        session: Session,
        bar: BeforeActionReview,
        items: Sequence[BarItem],
        may_see: Callable[[int], bool],
    ) -> list[Fused]:
        """The items' figures for a reader (`may_see`), in the items' order: feedback taken
        again from what they may see (`feedback.as_read`), ranks among the items alone."""
        return as_shown(items, feedback.as_read(session, bar, items, may_see))

    def explain(self, lesson: Lesson, brief: str, best_sentence: str | None) -> Explanation:
        # The sentence closest in meaning was chosen when the BAR ran, and kept.
        return explain(lesson, brief, among=[best_sentence] if best_sentence else None)


def _ranks_among(
    items: Sequence[BarItem], rank_of: Callable[[BarItem], int | None]
) -> list[int | None]:
    """Each item's rank by one ranker, counted among `items` alone."""
    ranked = sorted(
        (rank, i) for i, item in enumerate(items) if (rank := rank_of(item)) is not None
    )
    among: list[int | None] = [None] * len(items)
    for new_rank, (_, i) in enumerate(ranked, start=1):
        among[i] = new_rank
    return among


def as_shown(items: Sequence[BarItem], rescored: Mapping[int, Fused] | None = None) -> list[Fused]:
    """The ranking of `items` as fused among them alone: the ranks and scores stored with a
    BAR count every lesson its runner could see, and would tell a viewer who sees fewer how
    many hidden lessons ranked above. For the runner (who sees every item) ranks differ from
    the stored ones only where lessons that did not make the list ranked higher. `rescored`:
    the items' scores taken again for this reader (`feedback.as_read`), where they differ.
    Near-copies are all listed: which of them the reader may see is the caller's to say."""
    params = FusionParams()
    dense = _ranks_among(items, lambda item: item.dense_rank)
    lexical = _ranks_among(items, lambda item: item.lexical_rank)
    shown = []
    for item, dense_rank, lexical_rank in zip(items, dense, lexical, strict=True):
        if item.match is not None:
            # Ranked on the absolute scale: a lesson's score is its own and that of the
            # feedback from lessons this reader may see, whoever else was seen.
            again = (rescored or {}).get(item.lesson_id or 0)
            shown.append(
                Fused(
                    lesson_id=item.lesson_id or 0,
                    fused=again.fused if again is not None else item.score,
                    dense=item.dense_score,
                    dense_rank=dense_rank,
                    lexical=item.lexical_score,
                    lexical_rank=lexical_rank,
                    hidden_copies=list(item.near_copies),
                    passage=item.passage_score,
                    match=again.match if again is not None else item.match,  # type: ignore[arg-type]
                )
            )
            continue
        fused = 0.0
        if dense_rank is not None:
            fused += params.dense_weight / (params.rrf_k + dense_rank)
        if lexical_rank is not None:
            fused += params.lexical_weight / (params.rrf_k + lexical_rank)
        shown.append(
            Fused(
                lesson_id=item.lesson_id or 0,
                # A BAR recorded before the rankers' parts were kept has only its score.
                fused=fused if dense_rank is not None or lexical_rank is not None else item.score,
                dense=item.dense_score,
                dense_rank=dense_rank,
                lexical=item.lexical_score,
                lexical_rank=lexical_rank,
                hidden_copies=list(item.near_copies),
            )
        )
    return shown
