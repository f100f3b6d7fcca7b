"""General clinical language (ES/EN): age, sex, side, and the diagnoses and procedures of any clinic's notes.

The regenerative-medicine vocabulary (`casewise.vocabulary`) knows a handful of conditions and injections; real
notes (operative reports, consultations, discharge summaries) name fractures, tears, arthroplasties and releases,
mostly under headings ('PREOPERATIVE DIAGNOSIS:', 'PROCEDURE:', 'Juicio clínico:'). This module adds:

- `age_of` / `sex_of`: only what the note states ('55-year-old male', 'varón de 55 años', '55 y/o F', 'Mrs.',
  'she'); never a guess from a diagnosis or a name.
- `general_vocabulary`: the built-in vocabulary with common diagnoses, procedures and conservative treatments added
  (canonical ids, Spanish and English labels and synonyms). Terms the built-in vocabulary already holds keep their ids.
- `heading_items`: the phrases listed under diagnosis and procedure headings, for what no lexicon knows.

Everything works on de-identified text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from casewise.vocabulary import BUILTIN, Term, Vocabulary, fold

# --------------------------------------------------------------------------- age

_NUM = r"(\d{1,3}|90\+)"
# Strong forms: the number is the patient's age by its wording.
_AGE_EN = re.compile(
    rf"(?<![\d.,/]){_NUM}\s*-\s*\d/\d\s*-?\s*years?\s*-?\s*old\b"  # '2-1/2-year-old'
    rf"|(?<![\d.,/]){_NUM}\s*-?\s*years?\s*[,-]?\s*(?:and\s+)?\d{{1,2}}\s*-?\s*months?\s*-?\s*old\b"  # '5-year, 8-month-old'
    rf"|(?<![\d.,/]){_NUM}\s*[- ]?\s*(?:years?|yrs?|y)\s*[- ]?\s*(?:of\s+age\b|old\b|o\b|/o\b|\.o\.)"
    rf"|(?<![\d.,/]){_NUM}\s*(?:yo|y/o|y\.o\.|yr\.?\s*old)(?![a-z])"
    rf"|\b(?:aged?|age\s*:|age\s+is)\s*{_NUM}(?![\d.,/])(?!\s*(?:months?|weeks?|days?))")
# An infant's age: hyphenated ('6-month-old') or followed by who it is ('3 weeks old boy'), not 'a 3 weeks old cast'.
_INFANT_EN = re.compile(r"(?<![\d.,/])\d{1,2}\s*-\s*(?:months?|weeks?|days?)\s*-\s*old\b"
                        r"|(?<![\d.,/])\d{1,2}\s+(?:months?|weeks?|days?)\s+old\s+(?:male|female|boy|girl|infant|baby|"
                        r"child|neonate|newborn)\b")
_WHO_ES = (r"(?:varon|mujer|hombre|paciente|nin[oa]|chic[oa]|senor[a]?|sra\.?|sr\.?|anciano|anciana|joven|"
           r"adolescente|lactante|gestante|deportista|jubilad[oa]|trabajador[a]?)")
_AGE_ES = re.compile(
    rf"\b{_WHO_ES}(?:\s+[a-z]+){{0,3}}?\s*(?:de|,)\s*{_NUM}\s*(?:anos|a\.|a\b)"
    rf"|(?<![\d.,/]){_NUM}\s*anos\s+de\s+edad"
    rf"|\bedad\s*(?:de|:)?\s*{_NUM}(?![\d.,/])")
# 'de 55 años' alone is an age only where it is not a duration ('dolor de 2 años de evolución', 'hace 5 años').
_AGE_ES_WEAK = re.compile(rf"\bde\s+{_NUM}\s*anos(?!\s+(?:de\s+(?:evolucion|duracion|antiguedad|seguimiento|"
                          rf"tratamiento)|atras|antes))")
_DURATION_BEFORE = re.compile(r"(?:hace|desde|durante|tras|despues|a los|hasta los|mas de|menos de|unos|unas)\s*$")


def age_of(text: str) -> int | str | None:
    """The patient's age as the note states it: an integer, '90+' (de-identified), 0 for an infant, else None."""
    f = fold(text)
    best: tuple[int, int | str] | None = None
    for pat in (_AGE_EN, _AGE_ES):
        for m in pat.finditer(f):
            value = next(g for g in m.groups() if g)
            age = _age_value(value)
            if age is not None and (best is None or m.start() < best[0]):
                best = (m.start(), age)
            break  # the first of each pattern is the one that can come first
    if best is None and (infant := _INFANT_EN.search(f)):
        best = (infant.start(), 0)
    if best is None:
        for m in _AGE_ES_WEAK.finditer(f):
            if _DURATION_BEFORE.search(f[max(0, m.start() - 14):m.start()]):
                continue
            age = _age_value(m.group(1))
            if age is not None:
                return age
    return best[1] if best else None


def _age_value(value: str) -> int | str | None:
    if value.startswith("90+"):
        return "90+"
    v = int(value)
    if v > 120:
        return None
    return "90+" if v >= 90 else v


# --------------------------------------------------------------------------- sex

_FEMALE = (r"female|woman|lady|girl|mujer|femenina|senora|nina|chica|gestante|embarazada|paciente\s+mujer|"
           r"la\s+paciente|una\s+paciente")
_MALE = r"male|man|gentleman|boy|varon|hombre|masculino|senor|nino|chico|paciente\s+varon"
# 'RHF', 'LHM': right/left-handed female/male, as neurology histories open ('21 y/o RHM').
_SEX_WORD = re.compile(rf"\b(?:(?P<f>{_FEMALE}|[rl]hf)|(?P<m>{_MALE}|[rl]hm))\b")
# A word about someone else: 'his wife', 'her husband', 'the mother'.
_OTHER = re.compile(r"(?:wife|husband|mother|father|son|daughter|sister|brother|madre|padre|hijo|hija|esposa|"
                    r"esposo|marido|hermana|hermano)\W*$")
_TITLE = re.compile(r"\b(?P<t>Mrs|Ms|Miss|Mr|Sra|Sr)\.?\s+(?=\[|[A-Z])")
_PRONOUN_F = re.compile(r"\b(?:she|her|hers|herself)\b")
_PRONOUN_M = re.compile(r"\b(?:he|his|him|himself)\b")


def sex_of(text: str) -> str | None:
    """'F' or 'M' as the note states it: a sex word ('male', 'varón', 'la paciente'), a title ('Mrs.'), or the
    note's pronouns when they are all one way; None when it does not say."""
    f = fold(text)
    # The word that follows the age is about the patient ('55-year-old right-hand dominant gentleman').
    m = _AGE_EN.search(f) or _AGE_ES.search(f)
    if m:
        letter = re.match(r"\s*,?\s*([fm])\b(?!\.\w)", f[m.end():])  # '55 y/o F', '55yo M'
        if letter:
            return letter.group(1).upper()
        near = _SEX_WORD.search(f[m.end():m.end() + 60]) or _SEX_WORD.search(f[max(0, m.start() - 40):m.start()])
        if near:
            return "F" if near.group("f") else "M"
    for w in _SEX_WORD.finditer(f):
        if _OTHER.search(f[max(0, w.start() - 12):w.start()]):
            continue
        return "F" if w.group("f") else "M"
    t = _TITLE.search(text)
    if t:
        return "M" if t.group("t") in ("Mr", "Sr") else "F"
    she, he = len(_PRONOUN_F.findall(f)), len(_PRONOUN_M.findall(f))
    if she >= 2 and she >= 4 * he:
        return "F"
    if he >= 2 and he >= 4 * she:
        return "M"
    return None


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class _T:
    id: str
    es: str
    en: str
    syns: tuple[str, ...]
    category: str | None = None


# Diagnoses that are not in the built-in vocabulary (Spanish and English synonyms; matched accent-folded).
DIAGNOSES: tuple[_T, ...] = (
    _T("carpal_tunnel_syndrome", "síndrome del túnel carpiano", "carpal tunnel syndrome",
       ("carpal tunnel syndrome", "carpal tunnel", "cts", "sindrome del tunel carpiano", "sindrome de tunel carpiano",
        "tunel carpiano", "stc")),
    _T("cubital_tunnel_syndrome", "síndrome del túnel cubital", "cubital tunnel syndrome",
       ("cubital tunnel syndrome", "cubital tunnel", "ulnar neuropathy", "sindrome del tunel cubital",
        "neuropatia cubital")),
    _T("trigger_finger", "dedo en gatillo", "trigger finger",
       ("trigger finger", "trigger thumb", "stenosing tenosynovitis", "dedo en gatillo", "dedo en resorte",
        "pulgar en resorte", "tenosinovitis estenosante")),
    _T("de_quervain", "tenosinovitis de De Quervain", "De Quervain tenosynovitis",
       ("de quervain", "dequervain", "quervain")),
    _T("dupuytren", "enfermedad de Dupuytren", "Dupuytren's contracture",
       ("dupuytren", "dupuytren's contracture", "contractura de dupuytren")),
    _T("ganglion_cyst", "ganglión", "ganglion cyst", ("ganglion cyst", "ganglion", "quiste sinovial")),
    _T("meniscal_tear", "rotura de menisco", "meniscal tear",
       ("meniscal tear", "meniscus tear", "torn meniscus", "tear of the medial meniscus",
        "tear of the lateral meniscus", "medial meniscus tear", "lateral meniscus tear", "medial meniscal tear",
        "lateral meniscal tear", "rotura meniscal", "rotura de menisco", "rotura del menisco", "lesion meniscal",
        "meniscopatia")),
    _T("acl_tear", "rotura del ligamento cruzado anterior", "anterior cruciate ligament tear",
       ("acl tear", "acl rupture", "acl deficiency", "acl deficient", "anterior cruciate ligament tear",
        "anterior cruciate ligament rupture", "torn acl", "tear of the anterior cruciate ligament",
        "rotura del lca", "rotura de lca", "rotura del ligamento cruzado anterior", "lesion del lca")),
    _T("rotator_cuff_tear", "rotura del manguito rotador", "rotator cuff tear",
       ("rotator cuff tear", "torn rotator cuff", "tear of the rotator cuff", "supraspinatus tear",
        "rotura del manguito rotador", "rotura del manguito de los rotadores", "rotura del supraespinoso")),
    _T("adhesive_capsulitis", "capsulitis adhesiva", "adhesive capsulitis",
       ("adhesive capsulitis", "frozen shoulder", "capsulitis adhesiva", "hombro congelado")),
    _T("shoulder_instability", "inestabilidad de hombro", "shoulder instability",
       ("shoulder instability", "recurrent dislocation of the shoulder", "bankart lesion", "slap lesion",
        "slap tear", "labral tear", "inestabilidad de hombro", "lesion de bankart", "lesion slap")),
    _T("chondromalacia_patella", "condromalacia rotuliana", "chondromalacia patellae",
       ("chondromalacia", "patellofemoral syndrome", "patellofemoral pain", "patellar maltracking",
        "condromalacia", "sindrome femoropatelar", "dolor femoropatelar")),
    _T("osteoarthritis", "artrosis", "osteoarthritis",
       ("osteoarthritis", "osteoarthrosis", "degenerative joint disease", "djd", "degenerative arthritis",
        "arthrosis", "artrosis", "osteoartritis", "osteoartrosis")),
    _T("rheumatoid_arthritis", "artritis reumatoide", "rheumatoid arthritis",
       ("rheumatoid arthritis", "artritis reumatoide")),
    _T("gout", "gota", "gout", ("gout", "gouty arthritis", "gota", "artritis gotosa")),
    _T("septic_arthritis", "artritis séptica", "septic arthritis", ("septic arthritis", "artritis septica")),
    _T("osteomyelitis", "osteomielitis", "osteomyelitis", ("osteomyelitis", "osteomielitis")),
    _T("avascular_necrosis", "necrosis avascular", "avascular necrosis",
       ("avascular necrosis", "osteonecrosis", "necrosis avascular", "necrosis aseptica")),
    _T("osteoporosis", "osteoporosis", "osteoporosis", ("osteoporosis", "osteopenia")),
    _T("hip_fracture", "fractura de cadera", "hip fracture",
       ("hip fracture", "femoral neck fracture", "intertrochanteric fracture", "fracture of the femoral neck",
        "fracture of the hip", "subtrochanteric fracture", "fractura de cadera", "fractura de cuello femoral",
        "fractura pertrocanterea", "fractura intertrocanterea", "fractura subcapital")),
    _T("distal_radius_fracture", "fractura de radio distal", "distal radius fracture",
       ("distal radius fracture", "distal radial fracture", "fracture of the distal radius", "colles fracture",
        "colles' fracture", "fractura de radio distal", "fractura distal del radio", "fractura de colles")),
    _T("ankle_fracture", "fractura de tobillo", "ankle fracture",
       ("ankle fracture", "bimalleolar fracture", "trimalleolar fracture", "lateral malleolus fracture",
        "fracture of the ankle", "fibula fracture", "fibular fracture", "fractura de tobillo",
        "fractura bimaleolar", "fractura trimaleolar", "fractura de perone", "fractura de maleolo")),
    _T("fracture", "fractura", "fracture",
       ("fracture", "fractures", "fx", "fractura", "fracturas")),
    _T("dislocation", "luxación", "dislocation", ("dislocation", "subluxation", "luxacion", "subluxacion")),
    _T("sprain", "esguince", "sprain", ("sprain", "esguince")),
    _T("tendon_rupture", "rotura tendinosa", "tendon rupture",
       ("tendon rupture", "tendon tear", "ruptured tendon", "rotura tendinosa", "rotura del tendon")),
    _T("tendinopathy", "tendinopatía", "tendinopathy",
       ("tendinitis", "tendonitis", "tendinosis", "tendinopathy", "tenosynovitis", "tendinopatia",
        "tenosinovitis")),
    _T("bursitis", "bursitis", "bursitis", ("bursitis", "trochanteric bursitis", "olecranon bursitis")),
    _T("low_back_pain", "lumbalgia", "low back pain",
       ("low back pain", "lumbago", "lumbalgia", "dolor lumbar", "back pain", "lumbar strain")),
    _T("neck_pain", "cervicalgia", "neck pain", ("neck pain", "cervicalgia", "dolor cervical", "cervical strain")),
    _T("radiculopathy", "radiculopatía", "radiculopathy",
       ("radiculopathy", "radicular pain", "radicular symptoms", "sciatica", "radiculopatia", "ciatica",
        "lumbociatica", "lumbociatalgia")),
    _T("disc_herniation", "hernia discal", "disc herniation",
       ("disc herniation", "herniated disc", "herniated nucleus pulposus", "hnp", "disk herniation",
        "herniated disk", "disc protrusion", "hernia discal", "protrusion discal")),
    _T("degenerative_disc_disease", "discopatía degenerativa", "degenerative disc disease",
       ("degenerative disc disease", "degenerative disk disease", "ddd", "spondylosis", "discopatia",
        "discopatia degenerativa", "espondilosis", "espondiloartrosis")),
    _T("spinal_stenosis", "estenosis de canal", "spinal stenosis",
       ("spinal stenosis", "lumbar stenosis", "cervical stenosis", "foraminal stenosis", "canal stenosis",
        "estenosis de canal", "estenosis del canal", "estenosis foraminal")),
    _T("spondylolisthesis", "espondilolistesis", "spondylolisthesis", ("spondylolisthesis", "espondilolistesis")),
    _T("scoliosis", "escoliosis", "scoliosis", ("scoliosis", "kyphosis", "escoliosis", "cifosis")),
    _T("hallux_valgus", "hallux valgus", "hallux valgus", ("hallux valgus", "bunion", "bunions", "juanete")),
    _T("hammer_toe", "dedo en martillo", "hammer toe", ("hammer toe", "hammertoe", "claw toe", "dedo en martillo",
                                                         "dedo en garra")),
    _T("morton_neuroma", "neuroma de Morton", "Morton's neuroma", ("morton's neuroma", "morton neuroma",
                                                                    "neuroma de morton", "neuroma")),
    _T("myelopathy", "mielopatía", "myelopathy", ("myelopathy", "cervical myelopathy", "mielopatia")),
    _T("compartment_syndrome", "síndrome compartimental", "compartment syndrome",
       ("compartment syndrome", "sindrome compartimental")),
    _T("nonunion", "pseudoartrosis", "nonunion", ("nonunion", "non-union", "malunion", "pseudoartrosis",
                                                  "consolidacion viciosa")),
    _T("joint_pain", "dolor articular", "joint pain",
       ("knee pain", "hip pain", "shoulder pain", "wrist pain", "hand pain", "ankle pain", "foot pain", "elbow pain",
        "gonalgia", "coxalgia", "omalgia", "dolor de rodilla", "dolor de cadera", "dolor de hombro")),
    _T("cellulitis", "celulitis", "cellulitis", ("cellulitis", "abscess", "celulitis", "absceso")),
    _T("soft_tissue_mass", "masa de partes blandas", "soft-tissue mass",
       ("soft tissue mass", "soft-tissue mass", "lipoma", "tumor", "masa de partes blandas")),
)

# Procedures and conservative treatments not in the built-in vocabulary.
PROCEDURES: tuple[_T, ...] = (
    _T("total_knee_arthroplasty", "artroplastia total de rodilla", "total knee arthroplasty",
       ("total knee arthroplasty", "total knee replacement", "knee arthroplasty", "total knee",
        "knee total arthroplasty", "knee replacement arthroplasty", "total knee arthroplasties",
        "artroplastia total de rodilla", "protesis total de rodilla", "artroplastia de rodilla",
        "protesis de rodilla"), "surgery"),
    _T("unicompartmental_knee_arthroplasty", "prótesis unicompartimental de rodilla", "unicompartmental knee arthroplasty",
       ("unicompartmental knee arthroplasty", "unicondylar knee arthroplasty", "partial knee replacement",
        "protesis unicompartimental"), "surgery"),
    _T("total_hip_arthroplasty", "artroplastia total de cadera", "total hip arthroplasty",
       ("total hip arthroplasty", "total hip replacement", "hip arthroplasty", "hemiarthroplasty", "total hip",
        "hip total arthroplasty",
        "artroplastia total de cadera", "protesis total de cadera", "artroplastia de cadera", "protesis de cadera",
        "hemiartroplastia"), "surgery"),
    _T("shoulder_arthroplasty", "artroplastia de hombro", "shoulder arthroplasty",
       ("shoulder arthroplasty", "total shoulder", "reverse shoulder", "shoulder replacement",
        "artroplastia de hombro", "protesis de hombro", "protesis invertida"), "surgery"),
    _T("revision_arthroplasty", "recambio protésico", "revision arthroplasty",
       ("revision arthroplasty", "revision total knee", "revision total hip", "revision of total", "recambio protesico",
        "revision de protesis"), "surgery"),
    _T("arthroscopy", "artroscopia", "arthroscopy",
       ("arthroscopy", "arthroscopic", "artroscopia", "artroscopica", "artroscopico"), "surgery"),
    _T("meniscectomy", "meniscectomía", "meniscectomy",
       ("meniscectomy", "partial meniscectomy", "meniscal repair", "meniscus repair", "meniscectomia",
        "sutura meniscal"), "surgery"),
    _T("acl_reconstruction", "reconstrucción del LCA", "ACL reconstruction",
       ("acl reconstruction", "anterior cruciate ligament reconstruction", "ligamentoplastia",
        "reconstruccion del lca", "plastia del lca"), "surgery"),
    _T("rotator_cuff_repair", "reparación del manguito rotador", "rotator cuff repair",
       ("rotator cuff repair", "repair of the rotator cuff", "cuff repair", "reparacion del manguito",
        "sutura del manguito"), "surgery"),
    _T("subacromial_decompression", "descompresión subacromial", "subacromial decompression",
       ("subacromial decompression", "acromioplasty", "acromionectomy", "descompresion subacromial",
        "acromioplastia"), "surgery"),
    _T("carpal_tunnel_release", "liberación del túnel carpiano", "carpal tunnel release",
       ("carpal tunnel release", "release of the carpal tunnel", "carpal tunnel decompression",
        "transverse carpal ligament release", "release of transverse carpal ligament",
        "liberacion del tunel carpiano", "liberacion de tunel carpiano", "neurolisis del mediano",
        "descompresion del nervio mediano"), "surgery"),
    _T("trigger_finger_release", "liberación de dedo en gatillo", "trigger finger release",
       ("trigger finger release", "trigger thumb release", "a1 pulley release", "release of a1 pulley",
        "liberacion de polea a1", "liberacion del dedo en gatillo"), "surgery"),
    _T("cubital_tunnel_release", "liberación del nervio cubital", "cubital tunnel release",
       ("cubital tunnel release", "ulnar nerve transposition", "ulnar nerve decompression",
        "transposicion del nervio cubital", "neurolisis del cubital"), "surgery"),
    _T("orif", "reducción abierta y fijación interna", "open reduction and internal fixation",
       ("open reduction and internal fixation", "open reduction internal fixation", "orif", "internal fixation",
        "osteosynthesis", "reduccion abierta y fijacion interna", "fijacion interna", "osteosintesis"), "surgery"),
    _T("closed_reduction", "reducción cerrada", "closed reduction",
       ("closed reduction", "closed treatment", "percutaneous pinning", "reduccion cerrada"), "surgery"),
    _T("intramedullary_nailing", "enclavado intramedular", "intramedullary nailing",
       ("intramedullary nail", "intramedullary nailing", "intramedullary rod", "im nail", "im nailing",
        "enclavado intramedular", "clavo intramedular", "clavo endomedular"), "surgery"),
    _T("external_fixation", "fijación externa", "external fixation",
       ("external fixation", "external fixator", "fijacion externa", "fijador externo"), "surgery"),
    _T("hardware_removal", "retirada de material", "hardware removal",
       ("hardware removal", "removal of hardware", "retirada de material", "extraccion de material"), "surgery"),
    _T("spinal_fusion", "artrodesis vertebral", "spinal fusion",
       ("spinal fusion", "lumbar fusion", "cervical fusion", "interbody fusion", "posterolateral fusion", "acdf",
        "anterior cervical discectomy and fusion", "plif", "tlif", "artrodesis vertebral", "artrodesis lumbar",
        "artrodesis cervical"), "surgery"),
    _T("arthrodesis", "artrodesis", "arthrodesis", ("arthrodesis", "fusion", "artrodesis"), "surgery"),
    _T("discectomy", "discectomía", "discectomy",
       ("discectomy", "microdiscectomy", "diskectomy", "microdiskectomy", "discectomia", "microdiscectomia"),
       "surgery"),
    _T("laminectomy", "laminectomía", "laminectomy",
       ("laminectomy", "laminotomy", "hemilaminectomy", "foraminotomy", "decompressive laminectomy",
        "laminectomia", "laminotomia", "foraminotomia"), "surgery"),
    _T("kyphoplasty", "cifoplastia", "kyphoplasty",
       ("kyphoplasty", "vertebroplasty", "cifoplastia", "vertebroplastia"), "surgery"),
    _T("osteotomy", "osteotomía", "osteotomy", ("osteotomy", "osteotomia"), "surgery"),
    _T("bunionectomy", "bunionectomía", "bunionectomy",
       ("bunionectomy", "chevron", "austin bunionectomy", "bunionectomia", "correccion de hallux valgus"),
       "surgery"),
    _T("amputation", "amputación", "amputation", ("amputation", "amputacion"), "surgery"),
    _T("debridement", "desbridamiento", "debridement",
       ("irrigation and debridement", "debridement", "i&d", "incision and drainage", "desbridamiento",
        "limpieza quirurgica", "drenaje"), "surgery"),
    _T("tendon_repair", "reparación tendinosa", "tendon repair",
       ("tendon repair", "repair of the tendon", "tenorrhaphy", "tendon transfer", "achilles repair",
        "reparacion tendinosa", "sutura tendinosa", "tenorrafia", "transferencia tendinosa"), "surgery"),
    _T("ligament_reconstruction", "reconstrucción ligamentosa", "ligament reconstruction",
       ("ligament reconstruction", "ligament repair", "brostrom", "reconstruccion ligamentosa"), "surgery"),
    _T("excision", "exéresis", "excision",
       ("excision of", "excisional", "excision", "resection", "exeresis", "extirpacion", "reseccion"), "surgery"),
    _T("tenotomy", "tenotomía", "tenotomy",
       ("tenotomy", "tenolysis", "fasciotomy", "fasciectomy", "tenotomia", "fasciotomia", "fasciectomia"),
       "surgery"),
    _T("synovectomy", "sinovectomía", "synovectomy", ("synovectomy", "sinovectomia"), "surgery"),
    _T("manipulation_under_anesthesia", "movilización bajo anestesia", "manipulation under anesthesia",
       ("manipulation under anesthesia", "manipulation under anaesthesia", "movilizacion bajo anestesia"),
       "surgery"),
    _T("lateral_release", "liberación retinacular lateral", "lateral release",
       ("lateral release", "lateral retinacular release", "lateral capsular release",
        "liberacion del aleron externo", "liberacion retinacular"), "surgery"),
    _T("epidural_injection", "infiltración epidural", "epidural steroid injection",
       ("epidural steroid injection", "epidural injection", "esi", "facet injection", "nerve block",
        "infiltracion epidural", "bloqueo facetario", "bloqueo radicular"), "injection"),
    _T("immobilization", "inmovilización", "immobilization",
       ("cast", "casting", "splint", "splinted", "brace", "bracing", "immobilization", "immobilizer", "sling",
        "escayola", "ferula", "yeso", "inmovilizacion", "ortesis", "cabestrillo"), "physical"),
    _T("nsaids", "antiinflamatorios (AINE)", "anti-inflammatory drugs (NSAIDs)",
       ("nsaid", "nsaids", "anti-inflammatory", "anti-inflammatories", "antiinflammatory", "ibuprofen",
        "naproxen", "meloxicam", "celecoxib", "diclofenac", "aine", "aines", "antiinflamatorio",
        "antiinflamatorios", "ibuprofeno", "naproxeno", "diclofenaco"), "drug"),
    _T("analgesics", "analgésicos", "analgesics",
       ("analgesic", "analgesics", "pain medication", "pain medications", "narcotic", "narcotics", "opioid",
        "opioids", "hydrocodone", "vicodin", "oxycodone", "percocet", "tramadol", "norco", "morphine",
        "analgesico", "analgesicos", "paracetamol", "acetaminophen", "tylenol", "opioides"), "drug"),
    _T("antibiotics", "antibióticos", "antibiotics",
       ("antibiotic", "antibiotics", "ancef", "cefazolin", "kefzol", "vancomycin", "keflex", "antibiotico",
        "antibioticos", "cefazolina"), "drug"),
    _T("anticoagulation", "anticoagulación", "anticoagulation",
       ("anticoagulation", "coumadin", "warfarin", "lovenox", "enoxaparin", "heparin", "anticoagulacion",
        "heparina", "enoxaparina", "sintrom"), "drug"),
)

# Synonyms for ids the built-in vocabulary already has (general wording of the same conditions).
_MORE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "knee_oa": ("knee osteoarthrosis", "osteoarthrosis of the knee", "osteoarthritis of the left knee",
                "osteoarthritis of the right knee", "osteoarthritis, left knee", "osteoarthritis, right knee",
                "degenerative joint disease of the knee", "degenerative joint disease, left knee",
                "degenerative joint disease, right knee", "djd of the knee", "knee djd", "arthritis of the knee",
                "degenerative arthritis of the knee", "osteoarthritis of bilateral knees",
                "medial compartment osteoarthritis", "tricompartmental osteoarthritis",
                "tricompartmental degenerative", "artrosis de la rodilla"),
    "hip_oa": ("hip osteoarthrosis", "osteoarthrosis of the hip", "osteoarthritis of the left hip",
               "osteoarthritis of the right hip", "osteoarthritis, left hip", "osteoarthritis, right hip",
               "degenerative joint disease of the hip", "degenerative joint disease, left hip",
               "degenerative joint disease, right hip", "arthritis of the hip", "artrosis de la cadera"),
    "lateral_epicondylitis": ("lateral epicondylitis",),
    "rotator_cuff_tendinopathy": ("impingement syndrome", "subacromial impingement"),
}


def _term(t: _T) -> Term:
    return Term(t.id, t.es, t.en, tuple(dict.fromkeys((*t.syns, fold(t.en), fold(t.es)))), None,
                category=t.category)


@lru_cache(maxsize=8)
def general_vocabulary(base: Vocabulary = BUILTIN) -> Vocabulary:
    """`base` (the built-in or the clinic's vocabulary) with general diagnoses and procedures added.

    An id that `base` already has keeps its own entry (a clinic's file wins); new ids are added after it.
    """
    have_d = {t.id for t in base.diagnoses}
    have_t = {t.id for t in base.treatments}
    diags = tuple(replace(t, synonyms=tuple(dict.fromkeys(t.synonyms + _MORE_SYNONYMS.get(t.id, ()))))
                  for t in base.diagnoses) + tuple(_term(t) for t in DIAGNOSES if t.id not in have_d)
    treats = base.treatments + tuple(_term(t) for t in PROCEDURES if t.id not in have_t)
    return Vocabulary(diags, treats, tuple(base.measures.values()))


# Typing slips included ('kne', 'rodiila'), as the clinic's own vocabulary has 'artrosis de rodila'.
_JOINT_OA = (("knee_oa", re.compile(r"\b(?:kne+s?|rodi+l+as?|patellofemoral|femorotibial|tibiofemoral|femoropatelar)\b")),
             ("hip_oa", re.compile(r"\b(?:hips?|cadera?s?|coxofemoral)\b")))


def joint_of_osteoarthritis(context: str) -> str | None:
    """'knee_oa' or 'hip_oa' when the words around a general 'osteoarthritis' name that joint (folded text)."""
    found = [(m.start(), oid) for oid, pat in _JOINT_OA if (m := pat.search(context))]
    return min(found)[1] if found else None


def general_label(term_id: str, language: str = "en") -> str | None:
    """The Spanish or English label of a general term (None for ids this module does not add)."""
    for t in DIAGNOSES + PROCEDURES:
        if t.id == term_id:
            return t.es if language == "es" else t.en
    return None


# --------------------------------------------------------------------------- headings

_DX_HEAD = (r"(?:pre-?\s*operative|post-?\s*operative|pre-?\s*op|post-?\s*op|principal|primary|secondary|admitting|"
            r"discharge|final|working|clinical|preprocedure|postprocedure)?\s*(?:diagnos[ie]s|dx)|impressions?|"
            r"assessment(?:\s+and\s+plan)?|a/p|diagnosticos?(?:\s+(?:principal|definitivo|de\s+sospecha))?|"
            r"juicio\s+clinico|jc|impresion\s+diagnostica|orientacion\s+diagnostica")
_PX_HEAD = (r"(?:name\s+of\s+|title\s+of\s+|principal\s+|primary\s+)?(?:procedures?|operations?)"
            r"(?:\s+(?:performed|done))?|operative\s+procedures?|surgery\s+performed|procedimientos?"
            r"(?:\s+realizados?)?|intervencion(?:\s+quirurgica)?|tecnica\s+quirurgica|cirugia\s+realizada")
_AE_HEAD = r"(?:intraoperative\s+|postoperative\s+)?complications?|complicaciones|incidencias"
_HEADING = re.compile(rf"(?m)(?:^|(?<=\.\s))[ \t]*(?:(?P<dx>{_DX_HEAD})|(?P<px>{_PX_HEAD})|(?P<ae>{_AE_HEAD}))[ \t]*"
                      r"(?:#\s*\d+\s*)?:[ \t]*")
_NEXT_HEADING = re.compile(r"(?m)^[ \t]*[a-z][a-z /&,()-]{2,60}:")
_ITEM_SPLIT = re.compile(r"\n|;|(?:^|\s)\d{1,2}[.)]\s+|\s+and\s+(?=\d)")
_MAX_ITEM_WORDS = 16  # a list item, not a paragraph of narrative
_EMPTY = re.compile(r"^(?:none|same|same as above|as above|n/?a|ninguno|igual|idem|el mismo|misma|see above|"
                    r"unknown|pending|deferred|-+)\.?$")


@dataclass(frozen=True)
class HeadingItem:
    """One phrase listed under a diagnosis or procedure heading, with its [start, end) in the text."""

    kind: str  # "diagnosis" | "procedure" | "complication"
    text: str
    start: int
    end: int


def heading_items(text: str) -> list[HeadingItem]:
    """The phrases under 'DIAGNOSIS:', 'PROCEDURE PERFORMED:', 'Juicio clínico:', 'COMPLICATIONS:' and the like,
    one per list item."""
    f = fold(text)
    out: list[HeadingItem] = []
    for h in _HEADING.finditer(f):
        kind = "diagnosis" if h.group("dx") else "procedure" if h.group("px") else "complication"
        start = h.end()
        line_end = f.find("\n", start)
        line_end = len(f) if line_end < 0 else line_end
        if f[start:line_end].strip():  # 'DIAGNOSIS: Left carpal tunnel syndrome.': that line
            end = line_end
        else:  # a list on the lines below, up to a blank line or the next heading
            nxt = _NEXT_HEADING.search(f, line_end + 1)
            blank = re.compile(r"\n[ \t]*\n").search(f, line_end + 1)
            end = min(nxt.start() if nxt else len(f), blank.start() if blank else len(f), start + 600)
        body = f[start:end]
        pos = 0
        for piece in _ITEM_SPLIT.split(body):
            at = body.find(piece, pos) if piece else -1
            if at >= 0:
                pos = at + len(piece)
            phrase = piece.strip(" \t.,:-")
            if len(phrase) < 3 or _EMPTY.match(phrase) or at < 0 or len(phrase.split()) > _MAX_ITEM_WORDS:
                continue
            s = start + at + (len(piece) - len(piece.lstrip(" \t.,:-")))
            out.append(HeadingItem(kind, text[s:s + len(phrase)], s, s + len(phrase)))
    return out


_SIDE_WORDS = re.compile(r"\b(?:left|right|bilateral|bilaterally|izquierd[oa]s?|derech[oa]s?|bilaterales?|"
                         r"status post|s/p|history of|chronic|acute|possible|probable|the|of|a|an)\b")


def phrase_id(phrase: str) -> str:
    """A stable id for a phrase no lexicon knows: folded words without sides, qualifiers and punctuation."""
    words = re.findall(r"[a-z0-9]+", _SIDE_WORDS.sub(" ", fold(phrase)))
    return "_".join(words)[:60].strip("_")
