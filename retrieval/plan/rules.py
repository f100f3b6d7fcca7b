"""The rules planner: the clinic vocabulary (diagnoses, treatments, measures) plus Spanish and English patterns.

Patterns run on accent-folded lower-case text. What a treatment mention means is read from the words around it:
'tras fracaso de AH' / 'after failed HA' is a prior treatment, 'sin corticoides' / 'excluding steroids' an exclusion,
anything else a treatment arm. Conditions, treatments and scales outside the vocabulary are recognised from short
general lists so that the answer can say the clinic has none of them, instead of answering about something else.
"""

from __future__ import annotations

import re

from casewise import extract
from casewise.general_terms import general_operations
from casewise.lang import detect_language
from casewise.plan import Condition, Intent, PatientProfile, QuestionPlan
from casewise.types import Language
from casewise.vocabulary import BUILTIN, Mention, Vocabulary, fold

# -- words ----------------------------------------------------------------------------------------------------------
_NUM_WORDS = {"un": 1, "una": 1, "uno": 1, "one": 1, "a single": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
              "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "doce": 12, "twelve": 12}
_NUM = r"(\d{1,2}|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + r")"


def _n(word: str) -> int:
    return int(word) if word.isdigit() else _NUM_WORDS[word]


# Identifier requests: a patient identifier noun, asked for (not a record number written into a description).
_ID_KINDS: tuple[tuple[str, str], ...] = (
    ("name", r"nombres?(?: y apellidos?)?|apellidos?|names?|surnames?|full names?|quien(?:es)? (?:son|es)|who (?:are|is|were|was) (?:the|these|those)? ?(?:patients?|they)"),
    ("phone", r"telefonos?|moviles?|phones?(?: numbers?)?|telephone"),
    ("email", r"correos?(?: electronicos?)?|e-?mails?"),
    ("address", r"direccion(?:es)?|domicilios?|address(?:es)?|where (?:do|does) (?:they|the patients?) live"),
    ("record_number", (r"nhc|numeros? de historia|historias? clinicas?|n[uo]meros? de registro|mrn|record numbers?|"
                      r"medical record numbers?|chart numbers?|patient ids?|identificador(?:es)?")),
    ("national_id", r"dni|nie|pasaportes?|ssn|social security|national id|passport"),
    ("contact", r"datos de contacto|contacto|contact details|contact information|contact info|how (?:can i|to) contact"),
    ("birth_date", r"fechas? de nacimiento|dates? of birth|dob|birthdays?"),
)
_ID_ASK = re.compile(r"\b(dame|dime|da|danos|muestra|muestrame|ensename|lista|listame|proporciona|facilita|quiero|"
                     r"necesito|cual(?:es)? (?:es|son)|cual|dar|give|show|tell|list|provide|send|what (?:is|are|was|were)|"
                     r"i need|i want|get|export|exporta|saca|can you|puedes|podrias|could you|obten|recupera|"
                     r"identify|identifica|who|quien|quienes|how can i|como puedo)\b")
_ID_PATTERNS = [(kind, re.compile(r"(?<![a-z])(?:" + pat + r")(?![a-z])")) for kind, pat in _ID_KINDS]

_COUNT = re.compile(r"\bcuant[oa]s\b(?! (?:sesiones|infiltraciones|inyecciones|ml|mg|dosis|veces))|\bhow many\b"
                    r"(?! (?:sessions|injections|infiltrations|ml|mg|times|doses))|\bnumero de (?:pacientes|casos|mujeres|varones|hombres)\b"
                    r"|\bnumber of (?:patients|cases|women|men)\b|\bcount\b|\bcuenta\b|\bcontar\b")
_LIST = re.compile(r"^\W*(?:lista|listar|enumera|list|show|muestra|muestrame|show me|dame|give me)\b"
                   r"|\b(?:lista|listado|list|enumera) (?:de |of )?(?:los |las |the |all )?(?:casos|pacientes|cases|patients)\b"
                   r"|\b(?:que|which|what) (?:\S+ ){0,4}(?:casos|pacientes|cases|patients)\b(?! (?:like|como|similar))"
                   r"|\b(?:muestra|muestrame|show(?: me)?|ensename|dame|give me)(?: los| las| the| all| todos los| todas las)? (?:casos|pacientes|cases|patients)\b")
_ADVERSE = re.compile(r"efectos? (?:adversos?|secundarios?|indeseados?)|eventos? adversos?|complicacion(?:es)?|"
                      r"reacciones?(?: adversas?)?|adverse|side[- ]effects?|complications?|safety|seguridad|"
                      r"tolerancia|tolerabilidad|flares?|brotes? de dolor|problemas tras|problems after")
_REGIMEN = re.compile(r"\bdosis\b|\bdoses?\b|\bdosing\b|\bvolumen(?:es)?\b|\bvolumes?\b|\bcuant[oa]s (?:sesiones|infiltraciones|inyecciones|ml)\b|"
                      r"\bhow many (?:sessions|injections|infiltrations|ml)\b|\bpautas?\b|\bprotocolos?\b|\bregimens?\b|"
                      r"\bschedule\b|\bnumero de (?:sesiones|infiltraciones|inyecciones)\b|\bnumber of (?:sessions|injections)\b|"
                      r"\bcomo se (?:administro|aplico|pauto|dio|hizo)\b|\bhow (?:was|were) (?:it|they|\w+) (?:given|administered|dosed|done)\b"
                      r"|\bque cantidad\b|\bhow much\b")
_COMPARE = re.compile(r"\bcompar\w*|\bvs\.?\b|\bversus\b|\bfrente a\b|\bcontra\b|\bmejor que\b|\bbetter than\b|"
                      r"\bdiferencias?\b|\bdifferences?\b|\bor\b|\bo\b")
_OVER_TIME = re.compile(r"evolucion|evoluciono|evolucionaron|a lo largo|en el tiempo|con el tiempo|trayectoria|curso|"
                        r"over time|trajectory|time course|course of|evolve|evolved|changed over|how did .* change|"
                        r"progress(?:ion|ed)?|cambio en el tiempo|seguimiento de la")
_SIMILAR = re.compile(r"\bsimilar(?:es)?\b|\bparecid[oa]s?\b|\bcomo (?:este|esta|ella|el)\b|\blike (?:this|her|him|mine)\b|"
                      r"\bcomparable\b|\bsemejantes?\b")
_WORKED = re.compile(r"funcion|worked|works?\b|mejor|best|better|resultad|results?\b|eficac|effective|efectiv|"
                     r"ayud|helped|helps?\b|respond|opcion|options?|recomend|recommend|indicad|que hacer|what to do|"
                     r"benefic|mejoria|improve|alivio|relief|\bhow (?:did|does|do|well)\b.*\b(?:do|did|work|fare)\b|"
                     r"\bque tal\b|\boutcomes?\b")

# Where a question may ask a second thing: a new question mark, a semicolon, 'y'/'and' (not before a relative
# clause: 'y que no mejoraron', 'and who failed'), or an interrogative after a comma. A part counts only when its own
# words ask something (`_part_intents`), so 'PRP y ácido hialurónico' stays one part in effect.
_PART_BREAK = re.compile(r"\?\s*(?=[¿\w])|;|(?:,\s*)?\b(?:y|e|and|además|also|as well as|plus)\b(?!\s+(?:que|quien|quienes|"
                         r"cuyo|cuya|who|whom|whose|that|which)\b)|,\s*(?=¿?(?:qué|cuál|cuáles|cuánt[oa]s?|cómo|what|"
                         r"which|how|were|was|did|do|any)\b)")
_COMPARE_WORD = re.compile(r"\bcompar\w*|\bvs\.?\b|\bversus\b|\bfrente a\b|\bmejor que\b|\bbetter than\b|\bdiferencias?\b"
                           r"|\bdifferences?\b")
# A later part repeats the first part's kind of answer when both ask for outcomes per treatment.
_OUTCOME_INTENTS = frozenset({"what_worked", "compare", "similar_cases"})


def adds_part(intent: str, also: list[Intent], candidate: str) -> bool:
    """Whether `candidate` is a further part to answer after `intent` and `also`: not asked yet, not a list or a
    similar-case search (the first part's cases already are one), not outcomes per treatment again."""
    return (candidate != intent and candidate not in also and candidate not in ("similar_cases", "list")
            and not (intent in _OUTCOME_INTENTS and candidate in _OUTCOME_INTENTS))

# 'HA' written in capitals is hyaluronic acid ('failed HA and steroids'); folded, it would be the Spanish verb 'ha',
# which the vocabulary rightly leaves alone. It becomes the Spanish abbreviation 'AH' (same length), unless the
# whole question is in capitals.
_HA = re.compile(r"(?<![\w-])HA(?![\w-])")

# Prior treatments and exclusions, by the words right before (or after) the treatment mention.
_PRIOR_BEFORE = re.compile(r"(?:tras|despues de|after|post)(?: (?:el|la|los|las|un|una|the|a))? (?:fracaso|fallo|failure|"
                           r"failed|unsuccessful|ineffective|fracasad[oa]s?|fallid[oa]s?)(?: (?:de|del|con|of|with))?(?: (?:el|la|los|las|the|un|una|a))?\s*$"
                           r"|(?:failed|unsuccessful|previous|prior|earlier|previ[oa]s?|anterior(?:es)?)\s*$"
                           r"|(?:sin (?:mejoria|respuesta|exito|alivio) (?:con|tras|a|al)|no (?:mejoro|mejoraron|respondio|respondieron) "
                           r"(?:con|a|al|tras)|refractari[oa]s? (?:a|al)|resistentes? (?:a|al)|did not (?:respond|improve) (?:to|with|after)|"
                           r"didn'?t (?:respond|improve|work)(?: (?:to|with|after))?|no response to|not responding to|refractory to|"
                           r"failure of|fracaso (?:de|del|con)|fallo (?:de|del|con)|(?:fracasaron|fallaron|fracasan|fallan) (?:con|a|al|tras)|failed on|ya (?:recibio|recibieron|tratad[oa]s? con|habia recibido)|"
                           r"already (?:had|received|tried|treated with)|previously (?:treated with|received|had)|"
                           r"tratad[oa]s? previamente con|tratamiento previo con|tratamientos previos con|history of|despues de (?:un|una|el|la)? ?(?:ciclo|tanda) de)"
                           r"(?: (?:el|la|los|las|un|una|the|a))?\s*$")
_PRIOR_AFTER = re.compile(r"^\s*(?:previ[oa]s?|anterior(?:es)?|fallid[oa]s?|fracasad[oa]s?|sin (?:exito|mejoria|respuesta)|"
                          r"que no (?:funciono|funcionaron|sirvio)|that (?:failed|did not work|didn'?t work)|failed\b|"
                          r"without (?:success|improvement|relief|response))")
_EXCLUDE_BEFORE = re.compile(r"(?:\bsin\b|\bexcepto\b|\bsalvo\b|\bmenos\b|\bexcluyendo\b|\bexcluir\b|\bexcluye\b|\bexcluidos?\b|"
                             r"\bni\b|\bno\b|\bnot\b|\bexcept(?: for)?\b|\bexcluding\b|\bexclude\b|\bwithout\b|\bnor\b|\bother than\b|"
                             r"\bapart from\b|\bbesides\b|\bque no (?:sea|sean|incluya|incluyan|hayan recibido|recibieron)\b|"
                             r"\bno (?:quiere|desea|acepta|tolera|puede recibir|puede|admite)\b|\brechaza\b|\bevitar\b|\bavoid(?:ing)?\b|"
                             r"\bcontraindicad[oa]s?(?: (?:para|el|la|los|las))?\b|\bcontraindicated\b|\balergi[ac]o?a? (?:a|al)\b|"
                             r"\ballergic to\b|\b(?:who )?(?:refuses|refused|cannot (?:have|take|receive)|can'?t (?:have|take|receive)|could not (?:have|take|receive)|"
                             r"couldn'?t (?:have|take|receive)|does not want|doesn'?t want|did not want)\b|"
                             r"\brefuses?\b|\bno (?:han |hayan )?recibido\b|\bnever (?:had|received)\b|\bnot (?:treated with|given)\b|"
                             r"\bnunca\b|\bfuera de\b|\bleaving out\b|\bleave out\b|\bomit(?:ting)?\b|\bdescartad[oa]s?\b)"
                             r"(?: (?:el|la|los|las|de|del|the|a|an|any|ningun[oa]?|usar|using|use|recibir|receive|con|with))*\s*$")
_EXCLUDE_AFTER = re.compile(r"^\s*(?:contraindicad[oa]s?|contraindicated|excluid[oa]s?|excluded|no permitid[oa]s?|not allowed|"
                            r"(?:esta|is) (?:contraindicad[oa]|contraindicated|excluded|not an option|not allowed))")
# "sin" and "no" also open words that are no exclusion ('sin mejoría con X' is a prior treatment, read first).
_LIST_JOIN = re.compile(r"^\s*(?:,|y|e|o|u|ni|and|or|nor|/|\+)\s*(?:(?:el|la|los|las|the|de|del)\s+)?$")

# Time points: 'a los 3 y 6 meses', 'at 6 and 12 months', 'al año', '6-month', 'a 3, 6 y 12 meses'.
_TP_LIST = re.compile(
    r"(?P<cue>\b(?:a los|a las|al cabo de|tras|despues de|desde hace|durante|at|after|en|a|by|of|de|hasta|up to|to|for|hace|con|with|since))?\s*"
    r"(?P<nums>(?:(?:\d{1,2}|" + "|".join(_NUM_WORDS) + r")\s*(?:,|y|e|o|and|or|/|-|to|a)\s*)*(?:\d{1,2}|"
    + "|".join(_NUM_WORDS) + r"))[\s-]*(?P<unit>meses|mes|months?|mo\b|m\b|anos|ano|years?)(?P<after>[- ](?:old|de edad|de evolucion|"
    r"of (?:pain|symptoms|evolution|history)|history|duration|de duracion|con dolor|de dolor|follow[- ]?up|de seguimiento|review|revision|control))?")
_YEAR_WORDS = re.compile(r"\b(?:al ano|a(?:l cabo de)? un ano|tras un ano|despues de un ano|at (?:one|1) year|after (?:one|a|1) year|"
                         r"at a year|one[- ]year|1[- ]year|(?:a|at|after|tras) (?:los )?(?:dos|two|2) (?:anos|years))\b")
_NUM_TOKEN = re.compile(r"\d{1,2}|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)))
_TP_CUES = ("a los", "a las", "al cabo de", "tras", "despues de", "at", "after", "by", "hasta", "up to", "a", "en", "to", "of")
_DURATION_CUES = ("de", "for", "hace", "con", "with", "desde hace", "durante", "since")
_LASTING = ("evolucion", "pain", "symptoms", "evolution", "history", "duration", "duracion", "dolor")
_FOLLOWING = ("seguimiento", "follow", "review", "revision", "control")

_SEX_GROUP_F = re.compile(r"\b(mujeres|women|females|female patients|pacientes mujeres|pacientes femeninas|chicas|se[nñ]oras)\b")
_SEX_GROUP_M = re.compile(r"\b(varones|hombres|men|males|male patients|pacientes varones|pacientes masculinos|chicos)\b")
_AGE_MIN = re.compile(r"(?:mayores de|mas de|over|older than|above|aged over|>|>=|≥|de mas de)\s*(\d{2})\s*(?:anos|years|y/?o)?"
                      r"|(\d{2})\s*(?:anos|years|y/?o)?\s*(?:o mas|y mas|o mayores|en adelante|or more|or older|or over|or above|and older|and over|\+)")
_AGE_MAX = re.compile(r"(?:menores de|menos de|under|younger than|below|<|<=|≤|de menos de)\s*(\d{2})\s*(?:anos|years|y/?o)?"
                      r"|(\d{2})\s*(?:anos|years)?\s*(?:o menos|or younger|or less|and younger|and under)")
_AGE_RANGE = re.compile(r"(?:entre|between|de|aged|from)\s*(\d{2})\s*(?:y|and|a|to|-)\s*(\d{2})\s*(?:anos|years)"
                        r"|(?:aged|edad(?:es)?|ages?) (?:between |entre |de |from )?(\d{2})\s*(?:y|and|a|to|-)\s*(\d{2})\b(?![\s-]*(?:meses|months?))"
                        r"|(\d{2})\s*-\s*(\d{2})\s*(?:anos|years|y/?o)")
_SINGLE_PATIENT = re.compile(r"\b(?:paciente|mujer|varon|hombre|senora|senor|chica|chico|nino|nina|patient|woman|man|lady|"
                             r"gentleman|girl|boy)\b (?:de|of|aged|con|with)? ?\d{1,2}|\b\d{1,2}[- ](?:year[- ]old|y/?o|yo)\b"
                             r"|\b(?:este|esta|this|my|mi) (?:paciente|patient|caso|case)\b|\bpatients? like\b|\bcasos? como\b")
_BMI = re.compile(r"\b(?:imc|bmi)\s*(?:de|of|=|:)?\s*(\d{2}(?:[.,]\d)?)")
_KL_GRADE = re.compile(r"\b(?:kl|kellgren(?:[- ]lawrence)?)\s*(?:grado|grade|g)?\s*([1-4]|iv|i{1,3})\b|\bgrado\s+([1-4]|iv|i{1,3})\b"
                       r"|\bgrade\s+([1-4]|iv|i{1,3})\b")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_COMORBIDITIES: tuple[tuple[str, str], ...] = (
    ("diabetes", r"diabet\w*|dm2|dm ii|dm tipo 2"), ("hypertension", r"hipertens\w*|hypertens\w*|\bhta\b"),
    ("obesity", r"obes\w*"), ("dyslipidaemia", r"dislipemi\w*|dislipidemi\w*|dyslipid\w*|hipercolesterol\w*"),
    ("hypothyroidism", r"hipotiroid\w*|hypothyroid\w*"), ("gout", r"\bgota\b|\bgout\b"),
    ("atrial_fibrillation", r"fibrilacion auricular|atrial fibrillation|\bfa\b|\baf\b"),
    ("anticoagulation", r"anticoagula\w*|sintrom|warfarin"),
)

# Scales clinicians ask about that are not in the vocabulary (the clinic may still add them in its vocabulary file).
_OTHER_MEASURES: tuple[tuple[str, str], ...] = (
    ("IKDC", r"ikdc"), ("SF-36", r"sf[- ]?36"), ("SF-12", r"sf[- ]?12"), ("ODI", r"oswestry|\bodi\b"),
    ("DASH", r"quick ?dash|\bdash\b"), ("VISA-A", r"visa[- ]?a\b"), ("VISA-P", r"visa[- ]?p\b"), ("AOFAS", r"aofas"),
    ("CONSTANT", r"constant(?:[- ]murley)?(?: score)?"), ("ASES", r"\bases\b"), ("HHS", r"harris hip|\bhhs\b"),
    ("EQ-5D", r"eq[- ]?5d"), ("LYSHOLM", r"lysholm"), ("TEGNER", r"tegner"), ("PRTEE", r"prtee"), ("FAAM", r"faam"),
    ("NDI", r"\bndi\b|neck disability"), ("HOOS", r"\bhoos\b"), ("OKS", r"oxford knee|\boks\b"), ("SPADI", r"spadi"),
    ("PROMIS", r"promis"), ("FFI", r"foot function index|\bffi\b"), ("MOCART", r"mocart"),
)
_OTHER_MEASURE_PATTERNS = [(mid, re.compile(r"(?<![a-z0-9])(?:" + pat + r")(?![a-z0-9])")) for mid, pat in _OTHER_MEASURES]

# Conditions and treatments outside a musculoskeletal clinic's vocabulary: named, so the answer can say none is held.
_OTHER_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("adhesive_capsulitis", r"hombro congelado|capsulitis adhesiva|frozen shoulder|adhesive capsulitis"),
    ("carpal_tunnel_syndrome", r"tunel (?:del )?carpiano|carpal tunnel"),
    ("low_back_pain", r"lumbalgia|lumbago|dolor lumbar|low back pain|back pain|lumbar pain|hernia discal|disc herniation"),
    ("neck_pain", r"cervicalgia|dolor cervical|neck pain"),
    ("fibromyalgia", r"fibromialgia|fibromyalgia"),
    ("rheumatoid_arthritis", r"artritis reumatoide|rheumatoid arthritis"),
    ("meniscal_tear", r"rotura (?:de|del) menisco|lesion meniscal|rotura meniscal|meniscal tear|torn meniscus|meniscus tear"),
    ("acl_tear", r"ligamento cruzado|\blca\b|\bacl\b|cruciate ligament"),
    ("trochanteric_bursitis", r"bursitis trocanter\w*|trochanteric bursitis|greater trochanteric pain|sindrome trocanter\w*"),
    ("de_quervain", r"de quervain"), ("hallux_valgus", r"hallux valgus|juanete|bunion"),
    ("morton_neuroma", r"neuroma de morton|morton'?s neuroma"), ("ankle_sprain", r"esguince de tobillo|ankle sprain"),
    ("osteoporosis", r"osteoporosis"), ("chondromalacia", r"condromalacia|chondromalacia"),
    ("hamstring_injury", r"isquiotibial\w*|hamstrings?"), ("dupuytren", r"dupuytren"),
    ("trigger_finger", r"dedo en resorte|dedo en gatillo|trigger finger"),
    ("thumb_base_oa", r"rizartrosis|thumb (?:base )?(?:oa|osteoarthritis)|trapeziometacarpal"),
    ("shoulder_oa", r"omartrosis|shoulder (?:oa|osteoarthritis)|artrosis de hombro|glenohumeral (?:oa|osteoarthritis)"),
    ("ankle_oa", r"artrosis de tobillo|ankle (?:oa|osteoarthritis)"),
    ("migraine", r"migra[nñ]as?|migraine"), ("medial_epicondylitis", r"epicondilitis medial|epitrocleitis|golfer'?s elbow|medial epicondylitis"),
    ("gluteal_tendinopathy", r"tendinopatia glutea|gluteal tendinopathy"),
    ("cancer", r"cancer|tumou?r|tumoral|oncolog\w*|metasta\w*"), ("covid", r"covid|sars-cov-2"),
    ("depression", r"depresion|depression"), ("asthma", r"asma|asthma"),
)
_OTHER_TREATMENTS: tuple[tuple[str, str], ...] = (
    ("ozone", r"ozono\w*|ozone(?: therapy)?"), ("botulinum_toxin", r"toxina botulinica|botox|botulinum"),
    ("prolotherapy", r"proloterapia|prolotherapy|dextrosa|dextrose"), ("acupuncture", r"acupuntura|acupuncture"),
    ("radiofrequency", r"radiofrecuencia|radiofrequency|genicular nerve ablation"), ("mesotherapy", r"mesoterapia|mesotherapy"),
    ("collagen", r"colageno|collagen"), ("exosomes", r"exosomas?|exosomes?"), ("laser", r"laser\w*"),
    ("dry_needling", r"puncion seca|dry needling"), ("percutaneous_electrolysis", r"electrolisis percutanea|\bepi\b|percutaneous electrolysis"),
    ("tecar", r"tecar\w*|diatermia|diathermy"), ("arthroscopy", r"artroscopia|arthroscop\w*"),
    ("opioids", r"opioides?|opioids?|tramadol|morfina|morphine|tapentadol"), ("nsaid_injection", r"ketorolaco|ketorolac"),
)
_OTHER_CONDITION_PATTERNS = [(cid, re.compile(r"(?<![a-z])(?:" + pat + r")(?![a-z])")) for cid, pat in _OTHER_CONDITIONS]
_OTHER_TREATMENT_PATTERNS = [(tid, re.compile(r"(?<![a-z])(?:" + pat + r")(?![a-z])")) for tid, pat in _OTHER_TREATMENTS]


class RulesPlanner:
    """Plans a question with the clinic vocabulary and ES/EN patterns; deterministic and offline."""

    name = "rules"

    def __init__(self, vocab: Vocabulary = BUILTIN, general: Vocabulary | None = None) -> None:
        self.vocab = vocab
        # The general clinical terms extraction read the notes with (conditions and operations beyond the clinic's
        # own list): a condition only when the clinic's terms name none, an operation always (a longer one in place
        # of the clinic's shorter word inside it). A general drug is not an arm: questions name drugs as background
        # ('EVA 7 pese a AINEs', 'on anticoagulants').
        self.general = general
        self._general_surgery = general_operations(vocab) if general else frozenset()
        self._measure_patterns = [
            (m.id, re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(fold(s)) for s in (m.id, *m.synonyms)) + r")(?![a-z0-9])"))
            for m in vocab.measures.values()]

    def plan(self, question: str, *, language: Language | None = None) -> QuestionPlan:
        """The question's plan; every field empty that the question does not state."""
        text = (question or "").strip()
        f = fold(_HA.sub("AH", text) if not text.isupper() else text)
        lang: Language = language or detect_language(text)
        identifiers = self._identifiers(f)
        found, unknown_conditions = self._conditions(text, f)
        terms = self.general or self.vocab  # the general terms hold the clinic's own, codes included
        conditions = [Condition(id=d, icd10=terms.icd10_of(d)) for d in found]
        arms, prior, excluded = self._treatments(f)
        unknown_treatments = [tid for tid, pat in _OTHER_TREATMENT_PATTERNS if pat.search(f)]
        measures = [mid for mid, pat in self._measure_patterns if pat.search(f)]
        unrecorded = [mid for mid, pat in _OTHER_MEASURE_PATTERNS if pat.search(f) and mid not in measures]
        time_points, duration = self._time_points(f)
        profile = self._profile(text, f, conditions, duration)
        sessions = self._sessions(f)
        intent = self._intent(f, identifiers, conditions, unknown_conditions, arms, prior, unknown_treatments,
                              time_points, profile)
        missing = ["condition", "treatment"] if intent == "too_vague" else []
        also: list[Intent] = []
        if intent not in ("identifier_request", "too_vague"):
            # A question of several parts: the first part that asks something sets the intent (what comes before it
            # is context: 'Woman of 60 with knee OA, what worked?'); each later part adds what it asks.
            parts = _PART_BREAK.split(text.lower())
            asked = [(i, cues) for i, cues in ((i, self._part_intents(fold(p), arms)) for i, p in enumerate(parts))
                     if cues]
            if len(asked) >= 2:
                head = fold(" ".join(parts[:asked[0][0] + 1]))
                intent = self._intent(head, [], conditions, unknown_conditions, arms, prior, unknown_treatments,
                                      time_points, profile)
                for _i, cues in asked[1:]:  # each later part: the first thing it asks that is not asked yet
                    more = next((c for c in cues if adds_part(intent, also, c)), None)
                    if more is not None:
                        also.append(more)
        return QuestionPlan(
            question=text, language=lang, intent=intent, profile=profile, conditions=conditions,
            unknown_conditions=unknown_conditions, treatments=arms, unknown_treatments=unknown_treatments,
            prior_treatments=prior, exclusions=excluded, measures=measures, unrecorded_measures=unrecorded,
            time_points=time_points, sessions=sessions, identifiers=identifiers if intent == "identifier_request" else [],
            missing=missing, also=also, planner=self.name)

    # -- parts --------------------------------------------------------------------------------------------------
    @staticmethod
    def _identifiers(f: str) -> list[str]:
        kinds = [kind for kind, pat in _ID_PATTERNS if pat.search(f)]
        if not kinds:
            return []
        # 'nombre' of a treatment or a scale is no identifier; a request or a plural noun of patients is.
        if _ID_ASK.search(f) or re.search(r"\b(?:de|of|for) (?:los|las|the|these|those|esos|esas|estos|estas)? ?"
                                           r"(?:pacientes|patients|casos|cases|mujeres|women|men|varones)\b", f):
            return kinds
        return []

    def _conditions(self, text: str, f: str) -> tuple[list[str], list[str]]:
        """(conditions the vocabularies know, conditions asked about that they lack).

        A more specific condition the clinic does not treat is not read as the clinic's own inside it ('epicondilitis
        medial' is not lateral epicondylitis; 'ankle osteoarthritis' is not knee OA): it is that condition, known to
        the general terms or else unknown, never a coarser general term ('ankle osteoarthritis' is not every
        osteoarthritis). A general term is read where nothing more specific is named ('gout').
        """
        others = [(cid, m.start(), m.end()) for cid, pat in _OTHER_CONDITION_PATTERNS for m in pat.finditer(f)]
        mentions = self.vocab.diagnosis_mentions(f)
        inside = {m.id for m in mentions if any(s <= m.start and m.end <= e and e - s > m.end - m.start
                                                for _c, s, e in others)}
        found = [d for d in self.vocab.find_diagnoses(text) if d not in inside]
        if found:
            return found, []
        named = list(dict.fromkeys(cid for cid, _s, _e in others))
        known = {t.id for t in self.general.diagnoses} if self.general else set()
        if named:
            return [c for c in named if c in known], [c for c in named if c not in known]
        return (self.general.find_diagnoses(text) if self.general else []), []

    def _mentions(self, f: str) -> list[Mention]:
        own = self.vocab.treatment_mentions(f)
        if self.general is None:
            return own
        out = list(own)
        for m in self.general.treatment_mentions(f):
            if m.id not in self._general_surgery:  # a drug a question names is background ('despite NSAIDs')
                continue
            overlap = [o for o in out if o.start < m.end and m.start < o.end]
            if overlap and not all(m.end - m.start > o.end - o.start for o in overlap):
                continue
            out = [o for o in out if o not in overlap] + [m]
        return sorted(out, key=lambda m: m.start)

    def _treatments(self, f: str) -> tuple[list[str], list[str], list[str]]:
        """(arms, prior treatments, exclusions) from the treatment mentions and the words around each."""
        mentions: list[Mention] = self._mentions(f)  # spans into the folded text
        arms: list[str] = []
        prior: list[str] = []
        excluded: list[str] = []
        role_of_previous: str | None = None
        last_end = 0
        for m in mentions:
            before = f[max(0, m.start - 70):m.start]
            after = f[m.end:m.end + 40]
            role = "arm"
            if _PRIOR_BEFORE.search(before) or _PRIOR_AFTER.search(after):
                role = "prior"
            elif _EXCLUDE_BEFORE.search(before) or _EXCLUDE_AFTER.search(after):
                role = "exclude"
            elif role_of_previous in ("prior", "exclude") and _LIST_JOIN.search(f[last_end:m.start]):
                # 'sin corticoides ni AH', 'after failed HA or steroids': the list keeps its role; 'o' in
                # 'tras fracaso de AH, PRP o BMAC' is ambiguous, so only 'ni'/'nor'/',' carry an exclusion on.
                joiner = f[last_end:m.start].strip()
                if role_of_previous == "exclude" and joiner in (",", "ni", "nor", "or", "o", "y", "and"):
                    role = "exclude"
                elif role_of_previous == "prior" and joiner in (",", "y", "and", "e", "ni", "nor"):
                    role = "prior"
            if role == "exclude" and re.search(r"\bsin (?:mejoria|respuesta|exito|alivio)\b[^.]*$", before):
                role = "prior"
            target = {"arm": arms, "prior": prior, "exclude": excluded}[role]
            if m.id not in target:
                target.append(m.id)
            role_of_previous = role
            last_end = m.end
        arms = [t for t in arms if t not in excluded]
        prior = [t for t in prior if t not in excluded]
        return arms, prior, excluded

    @staticmethod
    def _time_points(f: str) -> tuple[list[float], float | None]:
        """(follow-up time points in months, symptom duration in months)."""
        points: list[float] = []
        duration: float | None = None
        for m in _TP_LIST.finditer(f):
            unit, after = m.group("unit"), (m.group("after") or "")
            cue = (m.group("cue") or "").strip()
            nums = [_n(x) for x in _NUM_TOKEN.findall(m.group("nums"))]
            if not nums:
                continue
            years = unit.startswith(("ano", "year"))
            lasting = any(w in after for w in _LASTING)
            following = any(w in after for w in _FOLLOWING)
            if years:
                if "old" in after or "edad" in after:
                    continue  # an age
                if lasting:
                    duration = duration if duration is not None else nums[0] * 12.0
                elif (cue in _TP_CUES or following) and all(x <= 5 for x in nums):
                    points += [x * 12.0 for x in nums]
                continue
            if unit == "m" and not cue:
                continue
            if lasting or (cue in _DURATION_CUES and not following):
                duration = duration if duration is not None else float(nums[0])
                continue
            points += [float(x) for x in nums]
        for m in _YEAR_WORDS.finditer(f):
            word = m.group(0)
            points.append(24.0 if re.search(r"dos|two|\b2\b", word) else 12.0)
        return sorted({p for p in points if 0 < p <= 60}), duration

    def _profile(self, text: str, f: str, conditions: list[Condition], duration: float | None) -> PatientProfile:
        age = extract.age(text)
        sex = extract.sex(text)
        single = bool(_SINGLE_PATIENT.search(f))
        if _SEX_GROUP_F.search(f):
            sex = "F"
        elif _SEX_GROUP_M.search(f):
            sex = "M"
        age_min = age_max = None
        if r := _AGE_RANGE.search(f):
            lo, hi = next((r.group(i), r.group(i + 1)) for i in (1, 3, 5) if r.group(i))
            age_min, age_max = int(lo), int(hi)
        else:
            if mn := _AGE_MIN.search(f):
                v = int(mn.group(1) or mn.group(2))
                inclusive = bool(mn.group(2)) or bool(re.search(r"(?:>=|≥)\s*$", f[:mn.start(1)] if mn.group(1) else ""))
                age_min = v if inclusive else v + 1
            if mx := _AGE_MAX.search(f):
                v = int(mx.group(1) or mx.group(2))
                inclusive = bool(mx.group(2))
                age_max = v if inclusive else v - 1
        if age_min is not None or age_max is not None:
            age = None if not single else age
        side = None
        for name, pat in (("bilateral", r"\bbilateral(?:es)?\b|\bambas\b|\bboth\b"),
                          ("left", r"\bizquierd[oa]s?\b|\bizq\b|\bleft\b"), ("right", r"\bderech[oa]s?\b|\bdcha\b|\bright\b")):
            if re.search(pat, f):
                side = name
                break
        severity = None
        if g := _KL_GRADE.search(f):
            raw = g.group(1) or g.group(2) or g.group(3)
            severity = _ROMAN.get(raw) or int(raw)
        bmi = None
        if b := _BMI.search(f):
            bmi = float(b.group(1).replace(",", "."))
        comorb = [name for name, pat in _COMORBIDITIES if re.search(pat, f)]
        if isinstance(age, int) and age > 89:
            age = 90  # an age over 89 identifies: it is planned (and shown) as 90, the '90+' band
        return PatientProfile(age=age if isinstance(age, int) else None, age_min=age_min, age_max=age_max,
                              sex=sex if sex in ("F", "M") else None, side=side,  # type: ignore[arg-type]
                              severity=severity, duration_months=duration, bmi=bmi, comorbidities=comorb,
                              single_patient=single)

    @staticmethod
    def _sessions(f: str) -> int | None:
        m = re.search(r"\b" + _NUM + r"\s+(?:sesiones|sesion|infiltraciones|infiltracion|inyecciones|inyeccion|"
                      r"sessions?|injections?|infiltrations?|shots?|applications?|aplicaciones)\b", f)
        return _n(m.group(1)) if m else None

    @staticmethod
    def _part_intents(f: str, arms: list[str]) -> list[Intent]:
        """What one part of the question asks, by its own words only, most specific first (empty: nothing)."""
        cues: list[tuple[bool, Intent]] = [
            (bool(_COUNT.search(f)), "count"), (bool(_ADVERSE.search(f)), "adverse_events"),
            (bool(_REGIMEN.search(f)), "regimen"), (bool(_OVER_TIME.search(f)), "outcome_over_time"),
            (len(arms) >= 2 and bool(_COMPARE_WORD.search(f)), "compare"),
            (bool(_WORKED.search(f)), "compare" if len(arms) >= 2 else "what_worked"),
            (bool(_SIMILAR.search(f)), "similar_cases"), (bool(_LIST.search(f)), "list")]
        return list(dict.fromkeys(intent for hit, intent in cues if hit))

    @staticmethod
    def _intent(f: str, identifiers: list[str], conditions: list[Condition], unknown_conditions: list[str],
                arms: list[str], prior: list[str], unknown_treatments: list[str], time_points: list[float],
                profile: PatientProfile) -> Intent:
        if identifiers:
            return "identifier_request"
        if not (conditions or unknown_conditions or arms or prior or unknown_treatments):
            return "too_vague"
        if _COUNT.search(f):
            return "count"
        if _ADVERSE.search(f):
            return "adverse_events"
        if _REGIMEN.search(f):
            return "regimen"
        if _LIST.search(f) and not _WORKED.search(f):
            return "list"
        if len(arms) >= 2 and (_COMPARE.search(f) or _WORKED.search(f)):
            return "compare"
        if _OVER_TIME.search(f) or (len(time_points) >= 2 and len(arms) == 1):
            return "outcome_over_time"
        if _SIMILAR.search(f) and not _WORKED.search(f):
            return "similar_cases"
        if _WORKED.search(f):
            return "what_worked"
        if len(arms) >= 2:
            return "compare"
        return "similar_cases" if profile.single_patient else "what_worked"
