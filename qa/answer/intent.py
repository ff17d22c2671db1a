"""What kind of answer a question wants: an overview, an entity of some type, a reason, a
manner, someone's words, or a fact; or none from the documents ("hi", "thanks", "what can you
do?": `chat`, answered with what the assistant does).

"What is a chiropractor?" or "Who is Lavrov?" want what it is or who he is (a `definition`);
"What is this article about?" or "What happened in May 2024?" want the gist of the documents,
not a sentence sharing the question's words; "Who…", "When…", "How many…" want a sentence
holding a person, a date, a number (spaCy's entity labels); "Why…" wants a reason; "What did
Lavrov say?" wants what he said. The question's first wh-word decides: a "when" or "who" later
on opens a clause ("What did the man who won say?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..index.analysis import TITLES, function_words

Kind = Literal["overview", "entity", "definition", "reason", "manner", "quote", "fact", "chat"]

_PEOPLE = ("PERSON", "ORG", "NORP", "GPE")
#: "Which president…": a person, never the country beside the title ("US President …").
_PERSON = ("PERSON",)
_TIME = ("DATE", "TIME")
_PLACE = ("GPE", "LOC", "FAC")
_COUNT = ("CARDINAL", "QUANTITY")
_AMOUNT = ("MONEY", "PERCENT", "QUANTITY", "CARDINAL")
_PRICE = ("MONEY", "PERCENT")

#: "these documents", "my files", "the folder": the collection as a whole.
_THE_DOCUMENTS = (r"(?:this|these|the|those|my|our|your) (?:documents?|docs?|articles?|stories|"
                  r"story|texts?|files?|folder|collection|pieces?|reports?|papers?|pages?)")
_OVERVIEW = re.compile(
    r"^\s*(?:(?:so|ok(?:ay)?|and|please)[,\s]+)?(?:"
    r"what(?:['’]s| is| are| was)? (?:this|that|the|these|those) (?:article|document|doc|story|"
    r"text|piece|report|paper|news|page|file)s? (?:about|on)|"
    r"what(?:['’]s| is| are)? (?:it|this|that|they|this one|that one|these ones) (?:all )?about|"
    r"(?:can you |could you |please )?(?:summari[sz]e|sum up|give (?:me |us )?(?:a |an |the )?"
    r"(?:\w+ )?(?:summary|overview|gist|rundown)|tl;?dr|(?:give me |what is |what's )?the gist)|"
    r"what(?:'s| is)? the (?:news|main point|gist|story)|"
    r"what(?:'s| has)? (?:happened|been happening|is happening|went on)(?: (?:in|during|on|"
    r"over|since|last|this|the past|recently|lately|yesterday|today)\b.*)?\s*\??\s*$|"
    r"(?:any|what(?:'s| is)?) (?:news|new)\b|"
    # "What's in these documents?", "What do my files say?", "What topics do they cover?"
    rf"what(?:['’]s| is| are)? (?:in |inside )?{_THE_DOCUMENTS}\s*\??\s*$|"
    rf"what(?: topics| subjects)? do(?:es)? {_THE_DOCUMENTS} "
    r"(?:say|cover|contain|talk about|discuss|deal with)\s*\??\s*$)",
    re.IGNORECASE,
)
#: A greeting, thanks, or a question about the assistant itself: no question of the documents.
_CHAT = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|thanks?(?: you)?"
    r"(?: (?:so|very) much)?|thx|ty|cheers|ok(?:ay)?|cool|great|bye|goodbye|help|"
    r"what can you do|who are you|what are you|how do(?:es)? (?:this|it|you) work|"
    r"what (?:should|can) i ask(?: you)?)(?:[\s,]+(?:there|again|a lot|bot))?\s*[!.?]*\s*$",
    re.IGNORECASE,
)
#: "Which articles mention Elm Park?", "Are there any stories about the garden?": an overview
#: of the documents saying it, each by its lead; what follows the match is the topic.
MENTIONS = re.compile(
    r"^\s*(?:(?:which|what) (?:of the )?(?:documents?|docs?|articles?|stories|story|files?|"
    r"reports?|pieces?|texts?|pages?|papers?) (?:mention|talk about|are about|is about|cover|"
    r"discuss|refer to|deal with|say anything about)|"
    r"(?:are there|is there|do you have|do we have|do i have) (?:any )?(?:documents?|docs?|"
    r"articles?|stories|story|files?|reports?|pieces?|news) (?:about|on|mentioning|"
    r"that mention))\b",
    re.IGNORECASE,
)
#: "Which/what <noun>" questions whose noun names the kind of entity wanted.
_HEAD_NOUNS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys((
        "president", "leader", "person", "people", "minister", "official", "chief",
        "celebrity", "celebrities", "actor", "actress", "singer", "star", "player", "athlete",
        "scientist", "researcher", "expert", "author", "writer", "politician", "senator",
        "candidate", "winner", "champion", "runner-up", "founder", "ceo", "captain", "coach",
        "host", "co-host", "co-hosts", "spokesman", "spokeswoman", "spokesperson", "victim",
        "astronomer", "director", "judge", "justice", "lawmaker", "governor", "mayor",
        "king", "queen", "prince", "princess", "pope", "successor", "predecessor", "guy",
        "man", "woman", "men", "women"), _PERSON),
    **dict.fromkeys(("company", "companies", "organization", "organisation", "team", "firm",
                     "agency", "party", "club", "university", "newspaper", "network",
                     "airline", "bank", "brand", "competitor", "competitors", "rival",
                     "rivals"), ("ORG",)),
    **dict.fromkeys(("country", "countries", "city", "cities", "state", "town", "province",
                     "county", "capital"), ("GPE",)),
    **dict.fromkeys(("region", "regions", "area", "areas", "continent"), ("LOC", "GPE")),
    **dict.fromkeys(("film", "films", "movie", "movies", "book", "books", "novel", "song",
                     "songs", "album", "albums", "episode", "painting", "poem"),
                    ("WORK_OF_ART",)),
    "nation": ("GPE", "NORP"), "year": _TIME,
    "date": _TIME, "day": _TIME, "month": _TIME, "century": _TIME, "decade": _TIME,
    "time": _TIME, "percentage": ("PERCENT",), "number": _COUNT, "amount": _AMOUNT,
    **dict.fromkeys(("price", "prices", "cost", "costs", "fee", "fees", "fare", "fares",
                     "salary", "salaries"), _PRICE),
}
#: "Who is Lavrov?", "Who was Dmitry Medvedev?": a description of the one named, not another name.
_WHO_IS_NAMED = re.compile(r"^\s*(?i:who(?:['’]s|\s+is|\s+was|\s+are|\s+were))\s+"
                           r"(?:[A-Z][\w'’.-]*\s*)+\??\s*$")
#: The same typed all in lower case ("who is medvedev"): up to three words, none a title or
#: a function word ("who is the foreign minister", "who is president" ask who holds a role).
_WHO_IS_LOWER = re.compile(r"^\s*who(?:['’]s|\s+is|\s+was)\s+((?:[a-z][\w'’.-]*\s*){1,3})\??\s*$")
_WHEN = re.compile(r"\b(?:when|by when|since when)\b", re.I)
_HOW_LONG = re.compile(r"\bhow long\b", re.I)
_AGO = re.compile(r"\bhow long ago\b", re.I)  # a point in time: "61 years ago"
#: "How hot…", "how quickly…": a measure, not a manner.
_MEASURED = ("far|big|large|tall|high|fast|heavy|hot|cold|warm|deep|wide|strong|small|low|"
             "close|quickly|often|frequently")
_WH_TYPES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bhow (?:many|few)\b", re.I), _COUNT),
    # "How much did it cost?" wants a sum of money (or a rise in per cent), not any number.
    (re.compile(r"\bhow much\b.*\b(?:cost|costs|costing|pay|paid|pays|spen[dt]|spending|"
                r"price[ds]?|worth|earn(?:s|ed)?|charge[ds]?|fund(?:s|ed|ing)?|budget|"
                r"fine[ds]?|salary|owe[ds]?|money)\b", re.I), _PRICE),
    (re.compile(r"\bhow much\b", re.I), _AMOUNT),
    # "What will the basic plan cost?", "what does Hulu charge…": a sum of money.
    (re.compile(r"\bwhat\s+(?:will|would|does|do|did|is|are|was|were|could|might)\s+"
                r"(?:[\w'’$-]+\s+){1,8}?(?:cost|charge|charging|earn)\b", re.I), _PRICE),
    (_HOW_LONG, (*_TIME, "QUANTITY", "CARDINAL")),
    (re.compile(rf"\bhow (?:{_MEASURED})\b", re.I), ("QUANTITY", "CARDINAL")),
    (_WHEN, _TIME),
    (re.compile(r"\bwhere\b", re.I), _PLACE),
    (re.compile(r"\b(?:who|whom|whose)\b", re.I), _PEOPLE),
]
#: "How many subscribers…": the noun counted (not "how many were…", "how many of them…").
_COUNTED = re.compile(r"\bhow (?:many|few|much)\s+(?:more\s+|new\s+|other\s+)?([a-z][\w-]+)",
                      re.I)
_NOT_COUNTED = {"are", "is", "was", "were", "do", "does", "did", "has", "have", "had", "will",
                "would", "can", "could", "should", "of", "in", "on", "at", "to", "more",
                "times", "time", "they", "it", "he", "she", "we", "you", "there", "than"}
#: "Who was the captain…", "who are the co-hosts": a person, not an organisation or a country.
_WHO_IS_THE = re.compile(r"\bwho(?:'s|\s+is|\s+was|\s+are|\s+were|\s+will\s+be)\s+(?:the|a|an|"
                         r"its|their|his|her)\s+([\w-]+)(?:\s+([\w-]+))?", re.I)
_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\bat what age\b", re.I)
_WHICH = re.compile(r"\b(?:which|what)\s+(\w+)(?:\s+(\w+))?", re.I)
#: "What is the capital…", "what are the dates?": the noun after "the" names the kind.
#: Only a noun that ends the question or comes before a preposition is what is asked for:
#: not "the president" of "What is the president doing?".
_WHAT_IS_THE = re.compile(r"\bwhat(?:['’]s|\s+is|\s+are|\s+was|\s+were|\s+will\s+be)\s+"
                          r"(?:the|its|their|his|her)\s+(?:[\w-]+\s+)?([\w-]+)"
                          r"(?=\s*(?:[?.!,]|$)|\s+(?:of|in|on|for|at|from|that|who|which|where|"
                          r"when|now|today|again|this|these)\b)", re.I)
#: "What are people calling it?": after a verb, the noun is the subject, not the kind asked.
_AUXILIARIES = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will",
                "would", "can", "could", "should", "may", "might", "must"}
_REASON = re.compile(r"\b(?:why|how come|what (?:is|was|were|are) the reasons?|for what reason)\b",
                     re.I)
#: "What did Lavrov say?", "what did she post?": words someone said or wrote.
_QUOTE = re.compile(r"\bwhat\s+(?:did|does|do|has|have|had|will|would|is|was|are|were)\s+(.{1,60}?)"
                    r"\b(?:say|said|saying|tell|told|think|thinks|post|posted|write|wrote|tweet|"
                    r"tweeted|claim|announce|argue|respond|reply|warn|predict|suggest|add|"
                    r"comment|make of)\b", re.I)
#: "What is a chiropractor?", "Who was Lavrov?", "what are the layers of the earth": what the
#: thing or one named is. Not "what is the name/number of…", which want a fact.
_DEFINITION = re.compile(
    r"^\s*(?:what|who)(?:['’]s|\s+is|\s+are|\s+was|\s+were)\s+(?!(?:the\s+|a\s+)?(?:name|number|"
    r"population|size|date|year|time|cost|price|age|height|length|distance|amount|percentage)"
    r"\b)((?:[\w'’.-]+\s*){1,7})\??\s*$", re.I)
#: "What's the name of the method…?", "What is it called?", "What are people calling it?",
#: "What nickname…": what something is called.
_NAMING = re.compile(r"\bwhat(?:['’]s| is| was| are| were)? (?:the|its|their|his|her) (?:\w+ )?"
                     r"names?\b|\bwhat\b.*\b(?:called|calling|call|nicknamed?|known as|dubbed)\b|"
                     r"\bwhat (?:\w+ )?nicknames?\b", re.I)
#: "What will happen to Putin?", "What happens next?", "What's next for the bill?".
_AHEAD = re.compile(r"\bwhat(?:['’]s| is)? (?:(?:will|would|is going to|are going to|could|might)"
                    r" happen|happens (?:next|now)|(?:comes )?next|now)\b", re.I)
_MANNER = re.compile(rf"^\s*how\b(?! (?:many|much|long|old|{_MEASURED})\b)", re.I)
#: A question opening with an auxiliary asks yes or no ("Should people who had a stroke
#: worry?"); a wh-word in it asks something only after a verb of knowing or saying ("Did
#: Netflix say how many…?", "Do we know which ones?"), or opening a question of its own ("…,
#: and what's it looking at?").
_YES_NO = re.compile(rf"^\s*(?:(?:and|so|but|ok(?:ay)?)[,\s]+)?(?:{'|'.join(_AUXILIARIES)}|shall|"
                     r"isn['’]t|aren['’]t|wasn['’]t|weren['’]t|don['’]t|doesn['’]t|didn['’]t|"
                     r"hasn['’]t|haven['’]t|can['’]t|won['’]t|wouldn['’]t|couldn['’]t)\b", re.I)
_ASKING_WH = re.compile(
    r"(?:\b(?:know|known|knows|say|says|said|tell|tells|told|explain|explained|mention|"
    r"mentioned|reveal|revealed|ask|asked|wonder|clarify|clarified|specify|specified|disclose|"
    r"disclosed|confirm|confirmed|report|reported|indicate|indicated|show|showed|decide|"
    r"decided|understand|figure out|find out|found out|sure|clear|idea|about|and|or|but)|"
    r"[?.!,;:])\s+$", re.I)
_WH_WORD = re.compile(r"\b(?:who|whom|whose|what|when|where|which|why|how)\b", re.I)


@dataclass(frozen=True)
class Intent:
    """A question's kind, and for `entity`, the spaCy labels an answer would hold; `age` for
    "how old" (an age is a plain number: "36", "13-year-old", never "the 23rd" or "Saturday",
    though spaCy's small pipeline labels all of them DATE); `counted`, the noun "how many"
    counts ("subscribers" in "How many subscribers does it have?"), else ""; `moment` for
    "when": a point in time ("in April 2005", "61 years ago"), never a stretch of it ("almost
    600 years", "14 to 20 days"), which spaCy labels DATE too; `speaker`, for a `quote`, who
    is asked about ("the Chinese government" in "What did the Chinese government say…");
    `ahead` for "what will happen…", "what happens next": what is planned, promised or
    expected; `several` for an entity question asking for more than one ("Which countries…",
    "Who are its competitors?"): each sentence naming another one adds to the answer;
    `naming` for a question asking what something is called ("What's the name of the
    method…?", "What are people calling the planet?"); `span` for "how long": a length of
    time ("six weeks", "5 seconds", "from 1509 to 1547") or a measure, never a day
    ("Thursday", "last year"), which spaCy labels DATE too."""

    kind: Kind
    labels: tuple[str, ...] = ()
    age: bool = False
    counted: str = ""
    moment: bool = False
    speaker: str = ""
    ahead: bool = False
    several: bool = False
    naming: bool = False
    span: bool = False


def _names_someone_in_lower_case(question: str) -> bool:
    """Whether an all lower-case "who is …" question names someone ("who is medvedev").

    Example:
        >>> _names_someone_in_lower_case("who is medvedev"), _names_someone_in_lower_case(
        ...     "who is the foreign minister"), _names_someone_in_lower_case("who is president")
        (True, False, False)
    """
    match = _WHO_IS_LOWER.match(question)
    if match is None:
        return False
    words = match.group(1).split()
    return not any(w in TITLES or w in function_words() for w in words)


def intent_of(question: str) -> Intent:
    """Read what `question` wants.

    Example:
        >>> intent_of("What is this article about?").kind
        'overview'
        >>> intent_of("When will the system be ready?").labels
        ('DATE', 'TIME')
        >>> intent_of("How old is the winner?").age
        True
        >>> intent_of("Why does Russia object?").kind
        'reason'
        >>> intent_of("How much did the mission cost?").labels
        ('MONEY', 'PERCENT')
        >>> intent_of("Which articles mention Elm Park?").kind
        'overview'
        >>> intent_of("Hi!").kind, intent_of("what can you do?").kind
        ('chat', 'chat')
    """
    if _CHAT.match(question):
        return Intent("chat")
    if _OVERVIEW.search(question) or MENTIONS.search(question):
        return Intent("overview")
    if _WHO_IS_NAMED.match(question) or _names_someone_in_lower_case(question):
        return Intent("definition")
    question = _without_relative_clauses(question)
    # The question's own wh-word is its first one: "What can keep an object from moving when
    # it is pushed?" asks for a thing, not a time; "When did the man who won arrive?" a time.
    found: list[tuple[int, int, Intent]] = []
    age = _AGE.search(question)
    if age:
        found.append((age.start(), 0, Intent("entity", ("DATE", "CARDINAL", "QUANTITY"),
                                              age=True)))
    counted = _COUNTED.search(question)
    noun = counted.group(1).lower() if counted else ""
    who_is = _WHO_IS_THE.search(question)
    kinds = [_HEAD_NOUNS.get(n.lower()) for n in (who_is.groups() if who_is else ()) if n]
    if who_is and _PERSON in kinds:
        found.append((who_is.start(), 0, Intent("entity", _PERSON)))
    elif who_is and ("ORG",) in kinds:  # "Who is the company behind it?"
        found.append((who_is.start(), 0, Intent("entity", ("ORG", "PERSON"))))
    for order, (pattern, labels) in enumerate(_WH_TYPES, 1):
        match = pattern.search(question)
        if match:
            counts = match.group().lower().startswith("how") and noun not in _NOT_COUNTED
            found.append((match.start(), order,
                          Intent("entity", labels, counted=noun if counts else "",
                                 moment=pattern is _WHEN,
                                 span=pattern is _HOW_LONG and not _AGO.search(question))))
    reason = _REASON.search(question)
    if reason:
        found.append((reason.start(), 20, Intent("reason")))
    which = _WHICH.search(question)
    if which:
        # "Which country…", "which American president…": the noun is one of the next two
        # words; "What did she say?" names none, and wants a fact.
        nouns = which.groups() if which.group(1).lower() not in _AUXILIARIES else ()
        labels = _head_labels(nouns)
        found.append((which.start(), 30, Intent("entity", labels) if labels else Intent("fact")))
    what_is = _WHAT_IS_THE.search(question)
    labels = _head_labels(what_is.groups()) if what_is else ()
    if what_is and labels:
        found.append((what_is.start(), 29, Intent("entity", labels)))
    quote = _QUOTE.search(question)
    if quote:
        found.append((quote.start(), 25, Intent("quote", speaker=quote.group(1).strip())))
    manner = _MANNER.search(question)
    if manner:
        found.append((manner.start(), 40, Intent("manner")))
    chosen = min(found, key=lambda f: f[:2])[2] if found else Intent("fact")
    if chosen.kind == "entity" and _asks_for_several(question):
        chosen = replace(chosen, several=True)
    if chosen.kind == "fact" and _asks_what_it_is(question):
        return Intent("definition")
    if chosen.kind == "fact" and _AHEAD.search(question):
        return replace(chosen, ahead=True)
    if chosen.kind in ("fact", "definition") and _NAMING.search(question):
        return replace(chosen, kind="fact", naming=True)
    return chosen


def _without_relative_clauses(question: str) -> str:
    """A yes/no question with the wh-words that open its clauses blanked out: in "Should
    people who had a stroke worry?" the "who" asks for no one.

    Example:
        >>> _without_relative_clauses("Did it work when CNN signed up?")
        'Did it work ____ CNN signed up?'
        >>> _without_relative_clauses("Did Netflix say how many will cancel?")
        'Did Netflix say how many will cancel?'
    """
    if not _YES_NO.match(question):
        return question
    return _WH_WORD.sub(lambda m: m.group() if _ASKING_WH.search(question[:m.start()])
                        else "_" * len(m.group()), question)


def _head_labels(nouns: Sequence[str | None]) -> tuple[str, ...]:
    """The entity labels the first of `nouns` that names a kind wants ("countries": GPE)."""
    for noun in nouns:
        if noun:
            word = noun.lower()
            labels = _HEAD_NOUNS.get(word) or _HEAD_NOUNS.get(word.removesuffix("s"))
            if labels:
                return labels
    return ()


#: "Who are…", "who were…": more than one person.
_WHO_ARE = re.compile(r"\bwho\s+(?:are|were)\b", re.I)
_NOT_PLURAL = {"us", "is", "was", "has", "news", "series", "species", "this", "its", "his",
               "does", "mass", "gas", "bus", "boss", "press", "class", "status", "campus",
               "virus", "census", "bonus", "chaos", "crisis", "thesis", "basis", "analysis"}


def _asks_for_several(question: str) -> bool:
    """Whether `question` asks for several things of its kind: "Which countries would host
    it?", "What are the dates?", "Who are its competitors?"; not "Which country…", "Who
    is…".

    Example:
        >>> _asks_for_several("Which countries would host the shield?")
        True
        >>> _asks_for_several("Which country would host the shield?")
        False
    """
    if _WHO_ARE.search(question):
        return True
    nouns = [n.lower() for match in (_WHICH.search(question), _WHAT_IS_THE.search(question))
             for n in (match.groups() if match else ()) if n]
    return any(n.endswith("s") and not n.endswith("ss") and n not in _NOT_PLURAL
               and (n in _HEAD_NOUNS or n.removesuffix("s") in _HEAD_NOUNS
                    or n.removesuffix("ies") + "y" in _HEAD_NOUNS)
               for n in nouns)


_NOT_A_THING = {"he", "she", "it", "they", "him", "her", "his", "its", "their", "them", "this",
                "that", "these", "those", "one", "now", "instead", "next", "then", "so"}
_PREPOSITIONS = {"for", "of", "to", "in", "on", "about", "with", "from", "by", "at", "up",
                 "like", "as"}


def _asks_what_it_is(question: str) -> bool:
    """Whether `question` asks what a thing or someone named is: "What is a chiropractor?",
    "what are the layers of the earth". Not "What is the US planning?", "What was he
    wearing?", "What was blamed for that one?", "What was the checkmark for?"."""
    match = _DEFINITION.match(question)
    if not match:
        return False
    words = question[match.start(1):].rstrip(" ?").split()
    return (0 < len(words) <= 5 and not any(w.lower() in _NOT_A_THING for w in words)
            and words[-1].lower() not in _PREPOSITIONS
            and not any(w.islower() and w.endswith(("ing", "ed")) for w in words))
