"""Follow-up questions without a language model: carry the topic of earlier turns into the query.

"And Russia?", "What did he say about it?", "By when?" lean on the conversation; "Who is the
president of France?" and "Why did residents petition the council?" do not, and are searched
as they are. A question that leans on earlier turns is searched together with the key words
of the conversation's last self-contained question that was answered (a turn the documents
could not answer never becomes the topic), the names in the last answer, and what its
pronouns point to: "he"/"she" the last person named, "there" the last place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..index.analysis import PRONOUNS, WORD, names, topic_words
from ..index.chunking import sentence_spans
from ..index.entities import Entity, entities
from .question import is_abstention
from .sentences import whole_name

_OPENERS = ("and ", "and?", "but ", "also ", "what about", "how about", "so ", "then ",
            "what else", "anything else", "more")
_FEMALE = {"she", "her", "hers", "herself"}
_MALE = {"he", "him", "his", "himself"}
_PERSON_PRONOUNS = _FEMALE | _MALE
_PLACE_PRONOUNS = {"there"}
_WHO = re.compile(r"\bwho(?:m|se)?\b", re.I)
#: A question with a pronoun and at most this many topic words leans on the context.
_MAX_TOPIC_WORDS_WITH_PRONOUN = 4
#: A question of at most this many words with at most one topic word, and no name, leans on
#: the context ("Why?", "By when?", "How many?").
_MAX_WORDS_OF_A_BARE_FOLLOW_UP = 6
#: The previous answer's names are carried only into follow-ups with at most this many topic
#: words of their own ("Who ended it?"); richer follow-ups are better served by the earlier
#: question, while the names would pull back the passage that answered it.
_MAX_TOPIC_WORDS_FOR_NAMES = 1
#: How many earlier answered questions the topic may come from.
_TOPIC_TURNS = 3
#: "Quick one:", "One more thing -", "OK so,": a preamble of these words says nothing about
#: whether the question leans on the conversation ("one" there is no pronoun).
#: Preamble words that say the question leaves the conversation's topic: "OK, different topic
#: -", "Unrelated, but", "Totally different thing,".
_TOPIC_CHANGE = {"different", "topic", "topics", "subject", "subjects", "change", "changing",
                 "switching", "switch", "shifting", "gears", "note", "unrelated", "random", "new"}
_PREAMBLE_WORDS = {"quick", "one", "question", "another", "more", "thing", "ok", "okay", "so",
                   "hey", "hi", "sorry", "btw", "last", "final", "next", "follow", "up", "a",
                   "totally", "completely", "anyway", "anyways", "but", "oh", "well", "now",
                   "right", "alright", "cool", "thanks", "also", "the", "on", "of",
                   *_TOPIC_CHANGE}
_PREAMBLE = re.compile(r"^\s*([\w\s'-]{1,30}?)\s*(?::|\s-+|\s–|\s—|,)\s*(?=\S)")


@dataclass(frozen=True)
class _Turn:
    """One answered user question and the answer's text."""

    question: str
    answer: str


def leans_on_context(question: str) -> bool:
    """Whether `question` needs the earlier turns to be understood.

    Example:
        >>> leans_on_context("And Russia?"), leans_on_context("Who is the president of France?")
        (True, False)
        >>> leans_on_context("Why?"), leans_on_context("Why did residents petition the council?")
        (True, False)
    """
    if changes_topic(question):
        return False
    question = _without_preamble(question)
    lowered = question.lower().strip()
    words = [w.lower() for w in WORD.findall(question)]
    if not words:
        return False
    if lowered.startswith(_OPENERS):
        return True
    topics = topic_words(question)
    if ((points_back(question) is not None or _RELATIVE.search(question))
            and len(topics) <= _MAX_TOPIC_WORDS_WITH_PRONOUN):
        return True
    # A name ("Putin", "Lavrov") makes a short question stand on its own.
    named = any(w[0].isupper() and w != WORD.findall(question)[0] for w in topics)
    return len(topics) <= 1 and len(words) <= _MAX_WORDS_OF_A_BARE_FOLLOW_UP and not named


def points_back(question: str) -> str | None:
    """The first pronoun of `question` pointing at something said before ("When did this
    happen?": "this"; "What did she say?": "she"), or None (the time in "this year" is none).

    Example:
        >>> points_back("When did this happen?"), points_back("What happened this year?")
        ('this', None)
    """
    # "it's", "they're": the pronoun without its contraction.
    return next((w for w in WORD.findall(_THIS_TIME.sub(" ", question))
                 if _CONTRACTION.sub("", w.lower()) in PRONOUNS), None)


#: "this year", "that week": a time, not a pointer back into the conversation.
_THIS_TIME = re.compile(r"\b(?:this|that|these|those)\s+(?:year|years|week|weeks|month|months|"
                        r"season|weekend|morning|afternoon|evening|night|time|summer|winter|"
                        r"spring|fall|autumn|quarter)\b", re.IGNORECASE)


_CONTRACTION = re.compile(r"['’](?:s|re|ll|d|ve)$")
#: Words that place a question after something said before, like a pronoun: "What happens
#: next?", "What are the British doing instead?", "Who else…", "…as well?".
_RELATIVE = re.compile(r"\b(?:next|instead|too|either|as well|afterwards?)\s*[?.!]*\s*$|"
                       r"\b(?:else|instead of that|other than that)\b", re.IGNORECASE)


def changes_topic(question: str) -> bool:
    """Whether `question` opens by leaving the topic ("Unrelated, but…", "OK, different
    topic -") or by naming the one it turns to ("Switching to the whales in Scotland:",
    "Now, about the fusion experiment:", "Back to tennis -"): whatever follows stands on its
    own.

    Example:
        >>> changes_topic("Unrelated, but how do you make sourdough?")
        True
        >>> changes_topic("Now the superyacht: who built it?")
        True
        >>> changes_topic("Quick one: who won?"), changes_topic("So, who won?")
        (False, False)
    """
    match = _PREAMBLE.match(question)
    words = {w.lower() for w in WORD.findall(match.group(1))} if match else set()
    if words & _TOPIC_CHANGE and words <= _PREAMBLE_WORDS:
        return True
    named = _TOPIC_NAMED.match(question)
    return named is not None and not {w.lower() for w in WORD.findall(named.group(1))} <= (
        _PREAMBLE_WORDS)


#: Up to six words announcing a topic before a colon or a dash: "Back to tennis:".
_TOPIC_NAMED = re.compile(r"^\s*((?:[\w'’-]+,?\s+){0,5}[\w'’-]+)\s*(?::|\s-+|\s–|\s—)\s*(?=\S)")


def _without_preamble(question: str) -> str:
    """`question` without a leading "Quick one:" (words that only announce a question).

    Example:
        >>> _without_preamble("Quick one: who won the race?")
        'who won the race?'
        >>> _without_preamble("Back to Russia: who is stepping down?")
        'Back to Russia: who is stepping down?'
    """
    match = _PREAMBLE.match(question)
    if match and {w.lower() for w in WORD.findall(match.group(1))} <= _PREAMBLE_WORDS:
        return question[match.end():]
    return question


#: A person's gender as the documents refer to them ("female", "male"), or None when they
#: don't tell; given a name ("Condoleezza Rice").
Gender = Callable[[str], str | None]
#: How many pronouns of one kind it takes to tell how the documents refer to someone.
_GENDER_EVIDENCE = 2


def contextual_query(question: str, history: Sequence[dict[str, str]],
                     gender: Gender | None = None, *, names_carried: bool = True) -> str:
    """The retrieval query for `question` given the earlier `history` turns (the first of
    `contextual_queries`; with `names_carried` False, the second).

    Example:
        >>> contextual_query("By when?", [
        ...     {"role": "user", "content": "Where will the US base its missile shield?"},
        ...     {"role": "assistant", "content": "In Poland and the Czech Republic. [1]"}])
        'By when? US base missile shield Poland Czech Republic'
    """
    searched, scored = contextual_queries(question, history, gender)
    return searched if names_carried else scored


def contextual_queries(question: str, history: Sequence[dict[str, str]],
                       gender: Gender | None = None) -> tuple[str, str]:
    """The query to search for `question` given the earlier `history` turns, and the one to
    score the sentences of the passages found.

    Each is the question unchanged when it stands alone or no earlier question was answered;
    otherwise the question followed by the conversation's topic words and what its pronouns
    refer to (`gender`, when given, tells whom "she" and "he" can mean). The search query of a
    bare follow-up also carries the last answer's names: they help find its passage, but among
    that passage's sentences they would only pull back the one that answered last time.
    """
    question = question.strip()
    turns = _answered(history)
    if not turns or changes_topic(question):
        return question, question
    if not leans_on_context(question):
        # A question saying enough of its own still says "she" of someone named before
        # ("Where does she usually sit at the big NYC runway shows?"): only who is added.
        words = {w.lower() for w in WORD.findall(question)}
        referents = (_referents(question, turns[-_TOPIC_TURNS:], gender)
                     if words & _PERSON_PRONOUNS else [])
        own = {w.lower() for w in topic_words(_without_preamble(question))}
        found = _with_words(question, own, [], referents)
        return found, found
    # The last self-contained question names the topic; later follow-ups add to it.
    recent = turns[-_TOPIC_TURNS:]
    anchor = max((i for i, t in enumerate(recent) if not leans_on_context(t.question)),
                 default=0)
    # "OK, different topic -" announces the question; its words are no topic of it or of
    # the turns after it.
    context = topic_words(" ".join(_without_preamble(t.question) for t in recent[anchor:]))
    own = {w.lower() for w in topic_words(_without_preamble(question))}
    referents = _referents(question, recent, gender)
    # A pronoun says whom the question is about ("What did she say?": Rice); the other names
    # of the last answer would only pull back the sentence that answered it.
    carried = (names(_first_sentence(turns[-1].answer))
               if len(own) <= _MAX_TOPIC_WORDS_FOR_NAMES and not referents else [])
    return (_with_words(question, own, context + carried, referents),
            _with_words(question, own, context, referents))


def about_document(question: str, title: str) -> str:
    """`question` followed by the topic words of `title` it doesn't say itself: a question
    pointing back at a context it was never given ("When did this happen?" as the first
    question) asked of a collection holding one document is about that document.

    Example:
        >>> about_document("When did this happen?", "US, Russian officials in missile talks")
        'When did this happen? US Russian officials missile talks'
    """
    own = {w.lower() for w in topic_words(question)}
    return _with_words(question, own, topic_words(title), [])


def _with_words(question: str, own: set[str], words: Sequence[str],
                referents: Sequence[str]) -> str:
    """`question` followed by those of `words` it doesn't say itself, then the referents not
    already said ("Kyrsten Sinema" after a question naming her is not said twice)."""
    extra = list(dict.fromkeys(w for w in words if w.lower() not in own))
    said = own | {w.lower() for w in extra}
    extra += [r for r in dict.fromkeys(referents)
              if not all(part.lower() in said for part in r.split())]
    return f"{question} {' '.join(extra)}".strip() if extra else question


def conversation_topic(history: Sequence[dict[str, str]]) -> str:
    """The topic words of the conversation's recent answered questions ("" before any): what a
    question that stands on its own is still likely to be about ("Which journal published the
    research?" in a chat about a glacier study).

    Example:
        >>> conversation_topic([
        ...     {"role": "user", "content": "How fast is the Thwaites glacier retreating?"},
        ...     {"role": "assistant", "content": "At 1.3 miles a year. [1]"}])
        'fast Thwaites glacier retreating'
    """
    turns = _answered(history)[-_TOPIC_TURNS:]
    return " ".join(dict.fromkeys(w for t in turns
                                  for w in topic_words(_without_preamble(t.question))))


def names_nothing_new(question: str, history: Sequence[dict[str, str]]) -> bool:
    """Whether `question` names no one and nothing that the conversation's earlier turns (its
    questions and answers) have not: asked after answers about one story, "When do tickets go
    on sale?" or "Who is still missing?" can only be about that story, while "When did Liz
    Truss quit?" may turn to another. A question's first word counts as no name ("Which", "How").

    Example:
        >>> history = [{"role": "user", "content": "Who is touring Europe?"},
        ...            {"role": "assistant", "content": "Adele will play Munich. [1]"}]
        >>> names_nothing_new("When do tickets go on sale?", history)
        True
        >>> names_nothing_new("And in Munich?", history)
        True
        >>> names_nothing_new("What about Taylor Swift?", history)
        False
    """
    said = {w.lower() for turn in history for w in names(turn.get("content") or "")}
    first = WORD.findall(question)[:1]
    return all(w.lower() in said for w in names(question) if [w] != first)


def last_answer(history: Sequence[dict[str, str]]) -> str:
    """The text of the conversation's last assistant turn ("" when there is none), an
    abstention included."""
    return next((t.get("content") or "" for t in reversed(history)
                 if t.get("role") == "assistant"), "")


def last_quote(history: Sequence[dict[str, str]]) -> str | None:
    """The first sentence the conversation's last answer quoted (None before any answer).

    Example:
        >>> last_quote([{"role": "user", "content": "Who won?"},
        ...             {"role": "assistant", "content": "Ann — Ann won the race. [1]"}])
        'Ann — Ann won the race.'
    """
    turns = _answered(history)
    return _first_sentence(turns[-1].answer) if turns else None


def quoted_sentences(history: Sequence[dict[str, str]], turns: int) -> list[str]:
    """The sentences the conversation's last `turns` answers quoted, newest answer first
    (without their [n] marks or the short answer leading the first): where the conversation
    has been reading.

    Example:
        >>> quoted_sentences([{"role": "user", "content": "Who won?"},
        ...                   {"role": "assistant", "content": "Ann — Ann won. [1] Bo lost. [2]"}],
        ...                  turns=2)
        ['Ann won.', 'Bo lost.']
    """
    out: list[str] = []
    for turn in reversed(_answered(history)[-turns:] if turns > 0 else []):
        parts = [p.strip() for p in _MARK.split(turn.answer)]
        if len(parts) > 1 and _SHORT.match(parts[0]):  # "Ann — Ann won."
            parts[0] = _SHORT.sub("", parts[0], count=1)
        out += [p for p in parts if p]
    return out


#: A citation mark, "[2]" (escaped "\\[2\\]" in Markdown), and the short answer leading an
#: answer ("2013 — ").
_MARK = re.compile(r"\s*\\?\[\d+\\?\]")
_SHORT = re.compile(r"^[^—\n]{1,80}? — ")


def _answered(history: Sequence[dict[str, str]]) -> list[_Turn]:
    """The user's questions that got an answer, with it; a question the documents could not
    answer (or that got no reply) is left out, so it never becomes the topic."""
    turns: list[_Turn] = []
    pending: str | None = None
    for turn in history:
        content = (turn.get("content") or "").strip()
        if turn.get("role") == "user":
            pending = content or None
        elif turn.get("role") == "assistant" and pending is not None:
            if content and not is_abstention(content):
                turns.append(_Turn(pending, content))
            pending = None
    return turns


def _referents(question: str, turns: Sequence[_Turn], gender: Gender | None = None,
               ) -> list[str]:
    """What "he"/"she" (the last person named whom `gender` doesn't rule out) and "there"
    (the last place named) refer to, newest turn first."""
    words = {w.lower() for w in WORD.findall(question)}
    asked = "female" if words & _FEMALE else "male" if words & _MALE else None
    wanted: set[str] = set()
    if words & _PERSON_PRONOUNS:
        wanted.add("PERSON")
    if words & _PLACE_PRONOUNS:
        wanted |= {"GPE", "LOC", "FAC"}
    if not wanted:
        return []
    texts = [text for t in reversed(turns) for text in (_first_sentence(t.answer), t.question)]
    # Each text's entities in the order a pronoun looks at them, read once for every label.
    ordered: list[list[Entity]] = []
    for i, (text, tagged) in enumerate(zip(texts, entities(texts), strict=True)):
        # "Aaron" of "Aaron Judge" (spaCy's small pipeline cuts names short) is Aaron Judge.
        ents = [whole_name(text, e, tagged) for e in tagged]
        if i % 2 == 0 and _WHO.search(texts[i + 1]):
            # An answer to "who" is about the one it names that the question didn't: after
            # "Who had the record before Judge?", "he" is Maris, though Judge comes first.
            said = {w.lower() for w in WORD.findall(texts[i + 1])}
            ents.sort(key=lambda e: bool({w.lower() for w in WORD.findall(e.text)} & said))
        ordered.append(ents)
    found: list[str] = []
    for label in sorted(wanted):
        for ents in ordered:
            match = next((e.text for e in ents if e.label == label
                          and not (label == "PERSON" and gender is not None and asked
                                   and gender(e.text) not in (None, asked))), None)
            if match:
                found.append(match)
                break
    return found


def gender_in(texts: Sequence[str], name: str) -> str | None:
    """How `texts` refer to the person `name` ("female", "male" or None): the pronouns in
    the rest of each sentence naming them (by surname, in a text giving their whole name)
    and opening the sentence after, counted over all the texts: one kind at least twice, and
    at least twice as often as the other.

    Example:
        >>> gender_in(["Condoleezza Rice said she hoped for talks. Her aides agreed."],
        ...           "Condoleezza Rice")
        'female'
        >>> gender_in(["Putin met Rice."], "Putin") is None
        True
    """
    last = name.split()[-1].strip(".,'’")
    if not last:
        return None
    mention = re.compile(rf"\b{re.escape(last)}\b")
    female = male = 0
    whole = name.strip()
    for text in texts:
        if whole not in text:  # another Griffin than Kathy Griffin
            continue
        spans = sentence_spans(text)
        for i, span in enumerate(spans):
            sentence = text[span.start:span.end]
            found = mention.search(sentence)
            if not found:
                continue
            words = [w.lower() for w in WORD.findall(sentence[found.end():])]
            # The next sentence, when it opens with a pronoun ("She hoped…"), speaks of them.
            if i + 1 < len(spans):
                opening = WORD.findall(text[spans[i + 1].start:spans[i + 1].end])[:1]
                words += [w.lower() for w in opening]
            female += sum(w in _FEMALE for w in words)
            male += sum(w in _MALE for w in words)
    if female >= _GENDER_EVIDENCE and female >= 2 * male:
        return "female"
    if male >= _GENDER_EVIDENCE and male >= 2 * female:
        return "male"
    return None


def _first_sentence(text: str) -> str:
    text = _MARK.sub("", text).strip()
    spans = sentence_spans(text)
    return text[spans[0].start : spans[0].end] if spans else text
