"""The medspaCy pipeline, built once per process and reused.

``spacy.blank("en")`` with medspaCy's clinical tokenizer, our own line-aware sentence splitter (PyRuSH
costs ~0.5 s on an 18 kB note, market.md 3.2), medspaCy's TargetMatcher, ConText and Sectionizer,
all loaded from :mod:`priorauth.notes.rules`. Nothing is downloaded.
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache
from typing import Any

from priorauth.notes.affixes import precheck_affixes
from priorauth.notes.prefilter import Prefilter
from priorauth.notes.rules import CONTEXT_RULES, SECTION_RULES, TARGETS

SENTENCE_COMPONENT = "priorauth_line_sentences"
TARGET_MATCHER_COMPONENT = "priorauth_target_matcher"
#: ``doc.user_data`` key of the document text (see :func:`doc_text`).
DOC_TEXT = "priorauth.notes.text"

_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "vs", "e.g", "i.e", "approx", "no", "st", "pt", "etc"})
_SENT_END = frozenset({".", "!", "?"})


def _is_sentence_start(prev_text: str, prev_prev_text: str, prev_ws: str, text: str) -> bool:
    """Decide whether a token starts a sentence, from the previous token and the whitespace between them."""
    if "\n" in prev_ws or "\n" in prev_text:
        if "\n\n" in prev_ws or "\n" in prev_text:
            return True
        # A single line break continues the sentence only when a lowercase word is wrapped.
        return not (prev_text[-1:].isalpha() and prev_text[-1:].islower() and text[:1].islower())
    if prev_text in _SENT_END and prev_ws:
        if prev_text == "." and prev_prev_text.lower() in _ABBREVIATIONS:
            return False
        return bool(text[:1].isupper() or text[:1].isdigit() or not text[:1].isalpha())
    return False


def doc_text(doc: Any) -> str:
    """``doc.text``, joined from the tokens once per document and kept in ``doc.user_data``.

    ``Doc.text`` joins every token again on each access (~7 us on a short note, ~1.2 ms on an 18 kB
    one), and the sentence splitter and three regex matchers each need it. :func:`run_pipeline`
    stores the input text up front (spaCy's tokenization is non-destructive: ``doc.text == text``).
    """
    text = doc.user_data.get(DOC_TEXT)
    if text is None:
        text = doc.user_data[DOC_TEXT] = doc.text
    return str(text)


def run_pipeline(text: str) -> Any:
    """Run the cached pipeline over ``text``; the components read ``text`` instead of rebuilding it."""
    nlp = build_pipeline()
    doc = nlp.make_doc(text)
    doc.user_data[DOC_TEXT] = text
    return nlp(doc)


def _register_sentence_component() -> None:
    """Register the line-aware sentence splitter as a spaCy component (idempotent).

    Boundaries are written with ``Doc.from_array``: the ``Token.is_sent_start`` setter rescans the
    document on every call, which is quadratic on long notes. Token texts and whitespace are sliced
    from the document text by token offsets (one array read) rather than read token by token.
    """
    import numpy
    from spacy.attrs import IDX, LENGTH, SENT_START
    from spacy.language import Language
    from spacy.tokens import Doc

    if SENTENCE_COMPONENT in Language.factories:
        return

    @Language.component(SENTENCE_COMPONENT)
    def line_sentences(doc: Doc) -> Doc:
        if not len(doc):
            return doc
        text = doc_text(doc)
        offsets = doc.to_array([IDX, LENGTH])
        firsts = offsets[:, 0].tolist()
        ends = (offsets[:, 0] + offsets[:, 1]).tolist()
        texts = [text[first:end] for first, end in zip(firsts, ends, strict=True)]
        # Tokens tile the text: a token's whitespace runs to the next token (or the end).
        spaces = [text[end:first] for end, first in zip(ends, firsts[1:], strict=False)]
        spaces.append(text[ends[-1] :])
        # A Python list, made an array once: item assignment into a numpy array is slow per element.
        starts = [1] + [
            1
            if _is_sentence_start(texts[index - 1], texts[index - 2] if index > 1 else "", spaces[index - 1], text_)
            else -1
            for index, text_ in enumerate(texts[1:], start=1)
        ]
        doc.from_array([SENT_START], numpy.array(starts, dtype="int64").astype("uint64"))  # type: ignore[arg-type]
        return doc


def _use_cached_text_regex(component: Any, attribute: str) -> None:
    """Make a medspaCy component's regex matcher read the document text once per call, and prefilter.

    medspaCy 1.3's ``RegexMatcher`` rebuilds ``doc.text_with_ws`` for every pattern (~4 ms each on an
    18 kB note); with ~80 patterns that dominated the run time. The replacement matches the same
    patterns with the same flags and the same token alignment (expand to token boundaries). If the
    private attribute is not there (another medspaCy version), the component is left as it is.

    It also skips a pattern whose required literals (:mod:`priorauth.notes.prefilter`) are not in the
    text: such a pattern cannot match, so the matches and their order are unchanged, and on a short
    note most patterns are skipped by a few substring tests instead of a regex scan each.
    """
    from medspacy.common.regex_matcher import RegexMatcher

    class CachedTextRegexMatcher(RegexMatcher):  # type: ignore[misc]
        _prefilter: Prefilter | None = None

        def add(self, *args: Any, **kwargs: Any) -> None:
            super().add(*args, **kwargs)
            self._prefilter = None  # rebuilt, with the new patterns, on the next call

        def prefilter(self) -> Prefilter:
            """The prefilter of the current patterns, in the order ``__call__`` runs them."""
            if self._prefilter is None:
                self._prefilter = Prefilter([pattern for patterns in self._patterns.values() for pattern in patterns])
            return self._prefilter

        def __call__(self, doc: Any) -> list[tuple[int, int, int]]:
            text = doc_text(doc)
            finditers = iter(self.prefilter().finditers(text))
            matches: list[tuple[int, int, int]] = []
            for match_id, patterns in self._patterns.items():
                on_match = self._callbacks[match_id]
                for _pattern in patterns:
                    finditer = next(finditers)
                    if finditer is None:
                        continue
                    for found in finditer:
                        span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
                        if span is not None and len(span):
                            matches.append((match_id, span.start, span.end))
                        if on_match is not None:
                            on_match(self, doc, len(matches) - 1, matches)
            return matches

    matcher = getattr(component, attribute, None)
    regex = getattr(matcher, "_MedspacyMatcher__regex_matcher", None)
    if matcher is None or not isinstance(regex, RegexMatcher):
        return
    faster = CachedTextRegexMatcher(regex.vocab)
    faster.__dict__.update(regex.__dict__)
    faster.prefilter()  # built here, at start-up, rather than on the first note
    matcher._MedspacyMatcher__regex_matcher = faster


def _skip_empty_matchers(component: Any, attribute: str) -> None:
    """Make a medspaCy component's ``MedspacyMatcher`` skip its spaCy matchers when they have no patterns.

    Our rules are regexes, except ConText's phrases: the target matcher and the Sectionizer call an
    empty ``Matcher`` (which warns, into a filter, on every call) and an empty ``PhraseMatcher`` per
    note. An empty matcher finds nothing, so skipping it changes no match. Left as it is when the
    private attribute is not there (another medspaCy version).
    """
    from medspacy.common.medspacy_matcher import MedspacyMatcher
    from medspacy.common.util import prune_overlapping_matches

    class SkipEmptyMedspacyMatcher(MedspacyMatcher):  # type: ignore[misc]
        def __call__(self, doc: Any) -> list[tuple[int, int, int]]:
            token_matcher = self._MedspacyMatcher__matcher
            phrase_matcher = self._MedspacyMatcher__phrase_matcher
            matches: list[tuple[int, int, int]] = token_matcher(doc) if len(token_matcher) else []
            if len(phrase_matcher):
                matches += phrase_matcher(doc)
            matches += self._MedspacyMatcher__regex_matcher(doc)
            if self._prune:
                matches = prune_overlapping_matches(matches)
            return matches

    matcher = getattr(component, attribute, None)
    if type(matcher) is not MedspacyMatcher:
        return
    faster = SkipEmptyMedspacyMatcher.__new__(SkipEmptyMedspacyMatcher)
    faster.__dict__.update(matcher.__dict__)
    setattr(component, attribute, faster)


def _register_target_matcher() -> None:
    """Register medspaCy's TargetMatcher, setting ``doc.ents`` once per note, as a component (idempotent).

    medspaCy adds each match with ``doc.ents += (span,)``: a read and a write of every token's entity
    annotation per match (~0.5 ms per match on an 18 kB note). The matches are pruned of overlaps,
    so all of them can be set at once, which gives the same annotation; if that is refused (a match
    overlaps another or an existing entity), medspaCy's own one-by-one loop runs, as before.
    """
    from medspacy.target_matcher import TargetMatcher
    from spacy.language import Language
    from spacy.tokens import Span

    if TARGET_MATCHER_COMPONENT in Language.factories:
        return

    @Language.factory(TARGET_MATCHER_COMPONENT)
    class BulkEntsTargetMatcher(TargetMatcher):  # type: ignore[misc]
        def __call__(self, doc: Any) -> Any:
            if not self.result_type or self.result_type.lower() != "ents":
                return super().__call__(doc)
            matcher = self._TargetMatcher__matcher
            spans = []
            # As TargetMatcher.__call__ builds them.
            for rule_id, start, end in matcher(doc):
                rule = matcher.rule_map[self.nlp.vocab.strings[rule_id]]
                span = Span(doc, start=start, end=end, label=rule.category)
                span._.target_rule = rule
                if rule.attributes is not None:
                    for attribute, value in rule.attributes.items():
                        setattr(span._, attribute, value)
                spans.append(span)
            if not spans:
                return doc
            try:
                doc.ents = (*doc.ents, *spans)
            except ValueError:
                for span in spans:
                    try:
                        doc.ents += (span,)
                    except ValueError:
                        warnings.warn(
                            f'The result ""{span}"" conflicts with a pre-existing entity in doc.ents. This result '
                            f"has been skipped.",
                            RuntimeWarning,
                            stacklevel=2,
                        )
            return doc


def _sentence_bounds(doc: Any) -> list[tuple[int, int]]:
    """For each token, the (start, end) token offsets of its sentence."""
    from spacy.attrs import SENT_START

    starts = doc.to_array([SENT_START]).tolist()
    bounds: list[tuple[int, int]] = []
    begin = 0
    for index in range(1, len(starts) + 1):
        if index == len(starts) or starts[index] == 1:
            bounds.extend([(begin, index)] * (index - begin))
            begin = index
    return bounds


#: Modifier pairs plus target-modifier pairs above which ConText compares within sentences only.
_LOCAL_CONTEXT_PAIRS = 64


def _sentence_local_context(context: Any) -> None:
    """Make ConText compare a modifier only with the modifiers and targets of its own sentence.

    medspaCy compares every pair of modifiers (``ConTextGraph.update_scopes``) and every target with
    every modifier (``apply_modifiers``): quadratic, ~20% of the run time on an 18 kB note. With
    sentence scopes (no ``max_scope`` window), a pair from two sentences never changes anything:

    - each modifier's scope starts inside its sentence and only ever shrinks towards a modifier of
      the same sentence, so its ends stay within the sentence's token range [S, E];
    - ``limit_scope(a, b)`` with b in a later sentence can only set a's scope end to
      ``min(end, b.start)`` where ``b.start >= E_a >= end``, and with b in an earlier sentence only
      set a's scope start to ``max(start, b.end)`` where ``b.end <= S_a <= start``: no change;
    - ``modifies(target)`` needs the scope to overlap the target (``tuple_overlaps``), which a
      non-empty target inside another sentence's range cannot do.

    So the pairs left out are exactly those that had no effect; the others run in medspaCy's order,
    and the edges come out in the same order. The check is made on each document: when a modifier or
    target is not inside one sentence (or the configuration is not the one above), medspaCy's own
    loops run.
    """
    from medspacy.context import ConText
    from medspacy.context.context_graph import ConTextGraph
    from medspacy.context.context_modifier import ConTextModifier

    class SentenceLocalConText(ConText):  # type: ignore[misc]
        def __call__(self, doc: Any, targets: str | None = None) -> Any:
            if targets or self.input_span_type != "ents" or self.max_scope is not None:
                return super().__call__(doc, targets)
            # As ConText.__call__ builds the graph.
            graph = ConTextGraph(prune_on_modifier_overlap=self.prune_on_target_overlap)
            graph.targets = doc.ents
            graph.modifiers = []
            matcher = self._ConText__matcher
            for match_id, start, end in matcher(doc):
                rule = matcher.rule_map[self.nlp.vocab[match_id].text]
                graph.modifiers.append(ConTextModifier(rule, start, end, doc, max_scope=self.max_scope))
            pairs = len(graph.modifiers) * (len(graph.modifiers) + len(graph.targets))
            # Both ways give the same graph; on a short note the sentence look-up costs more than it saves.
            local = pairs > _LOCAL_CONTEXT_PAIRS and not graph.prune_on_modifier_overlap
            groups = _sentence_groups(doc, graph) if local else None
            if groups is None:
                graph.update_scopes()
                graph.apply_modifiers()
            else:
                _update_scopes(graph.modifiers, groups[0])
                _apply_modifiers(graph, groups)
            for target, modifier in graph.edges:
                target._.modifiers += (modifier,)
            if self.context_attributes_mapping:
                self.set_context_attributes(graph.edges)
            doc._.context_graph = graph
            return doc

    if type(context) is ConText:
        context.__class__ = SentenceLocalConText


def _sentence_groups(doc: Any, graph: Any) -> tuple[list[int], list[int]] | None:
    """The sentence (first token index) of each modifier and each target; None if one spans two."""
    if not graph.modifiers and not graph.targets:
        return [], []
    bounds = _sentence_bounds(doc)
    modifier_sentences = []
    for modifier in graph.modifiers:
        first, last = bounds[modifier.modifier_span[0]]
        scope_start, scope_end = modifier.scope_span
        end = modifier.modifier_span[1]
        if not (end <= last and first <= scope_start <= last and first <= scope_end <= last):
            return None
        modifier_sentences.append(first)
    target_sentences = []
    for target in graph.targets:
        first, last = bounds[target.start]
        if target.end > last or target.end <= target.start:
            return None
        target_sentences.append(first)
    return modifier_sentences, target_sentences


def _update_scopes(modifiers: list[Any], sentences: list[int]) -> None:
    """``ConTextGraph.update_scopes`` over the pairs of one sentence, in the same order."""
    for i in range(len(modifiers) - 1):
        first = modifiers[i]
        sentence = sentences[i]
        for j in range(i + 1, len(modifiers)):
            if sentences[j] == sentence:
                second = modifiers[j]
                first.limit_scope(second)
                second.limit_scope(first)


def _apply_modifiers(graph: Any, groups: tuple[list[int], list[int]]) -> None:
    """``ConTextGraph.apply_modifiers`` (without pruning) over the pairs of one sentence, in order."""
    modifier_sentences, target_sentences = groups
    for target, sentence in zip(graph.targets, target_sentences, strict=True):
        for modifier, modifier_sentence in zip(graph.modifiers, modifier_sentences, strict=True):
            if modifier_sentence == sentence and modifier.modifies(target):
                modifier.modify(target)
    edges = []
    for modifier in graph.modifiers:
        modifier.reduce_targets()
        for target in modifier._targets:
            edges.append((target, modifier))
    graph.edges = edges


def _sections_without_token_attributes(sectionizer: Any) -> None:
    """Make the Sectionizer set ``doc._.sections`` without setting ``token._.section`` on every token.

    The per-token attribute is one ``Underscore`` write per token (~14% of the run time on an 18 kB
    note), and nothing reads it: the Sectionizer runs last, :func:`run_pipeline` is only called by
    the extractor, and the extractor reads ``doc._.sections`` alone. Only the configuration built
    here is handled (no parent sections, end-line filter, sentence boundaries or span attributes);
    any other runs medspaCy's own method.
    """
    from medspacy.section_detection import Sectionizer
    from medspacy.section_detection.section import Section

    class SectionsOnlySectionizer(Sectionizer):  # type: ignore[misc]
        def __call__(self, doc: Any) -> Any:
            if (
                self._parent_sections
                or self.require_end_line
                or self._apply_sentence_boundary
                or self.assertion_attributes_mapping
                or self.max_section_length is not None
            ):
                return super().__call__(doc)
            # As Sectionizer.__call__ builds the sections.
            matcher = self._Sectionizer__matcher
            matches = matcher(doc)
            if self.require_start_line:
                matches = self.filter_start_lines(doc, matches)
            doc._.sections = []
            if not matches:
                doc._.sections.append(Section(None, 0, 0, 0, len(doc)))
                return doc
            sections = []
            if matches[0][1] != 0:
                sections.append(Section(None, 0, 0, 0, matches[0][1]))
            for i, (match_id, start, end) in enumerate(matches):
                rule = matcher.rule_map[self.nlp.vocab.strings[match_id]]
                if i == len(matches) - 1:
                    scope_end = len(doc) if rule.max_scope is None else min(end + rule.max_scope, doc[-1].i + 1)
                else:
                    next_start = matches[i + 1][1]
                    scope_end = next_start if rule.max_scope is None else min(end + rule.max_scope, next_start)
                sections.append(Section(rule.category, start, end, end, scope_end, None, rule))
            doc._.sections.extend(sections)
            return doc

    if type(sectionizer) is Sectionizer:
        sectionizer.__class__ = SectionsOnlySectionizer


_BUILD_LOCK = threading.Lock()


def build_pipeline() -> Any:
    """Build the spaCy ``Language`` with our rules; cached, so every call returns the same object.

    Locked: the service warms it in a thread at start-up while the first requests may already ask.
    """
    with _BUILD_LOCK:
        return _build_pipeline()


@lru_cache(maxsize=1)
def _build_pipeline() -> Any:
    import spacy
    from medspacy.context import ConTextRule
    from medspacy.custom_tokenizer import create_medspacy_tokenizer
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    _silence_loguru()
    _register_sentence_component()
    _register_target_matcher()
    nlp = spacy.blank("en")
    nlp.tokenizer = create_medspacy_tokenizer(nlp)
    precheck_affixes(nlp.tokenizer)
    nlp.add_pipe(SENTENCE_COMPONENT)
    matcher: Any = nlp.add_pipe(TARGET_MATCHER_COMPONENT, name="medspacy_target_matcher")
    matcher.add(
        [
            TargetRule(rule.rule_id, rule.concept, pattern=rule.pattern, metadata={"rule_id": rule.rule_id})
            for rule in TARGETS
        ]
    )
    context: Any = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(
        [
            ConTextRule(
                rule.literal,
                rule.category,
                pattern=rule.pattern,
                direction=rule.direction,
                allowed_types=set(rule.allowed_types) if rule.allowed_types else None,
                max_scope=rule.max_scope,
            )
            for rule in CONTEXT_RULES
        ]
    )
    sectionizer: Any = nlp.add_pipe(
        "medspacy_sectionizer",
        config={"rules": None, "require_start_line": True, "span_attrs": None},
    )
    sectionizer.add([SectionRule(rule.pattern, rule.category, pattern=rule.pattern) for rule in SECTION_RULES])
    for component, attribute in (
        (matcher, "_TargetMatcher__matcher"),
        (context, "_ConText__matcher"),
        (sectionizer, "_Sectionizer__matcher"),
    ):
        _use_cached_text_regex(component, attribute)
        _skip_empty_matchers(component, attribute)
    _sentence_local_context(context)
    _sections_without_token_attributes(sectionizer)
    return nlp


def _silence_loguru() -> None:
    """PyRuSH (imported by medspaCy) logs every sentence at DEBUG through loguru; keep warnings only."""
    try:
        import sys

        from loguru import logger

        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    except ImportError:  # pragma: no cover - loguru ships with medspaCy
        return
