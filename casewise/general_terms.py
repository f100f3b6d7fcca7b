"""General clinical terms (ES/EN) beyond the regenerative-medicine vocabulary: common diagnoses, procedures and
conservative treatments, with canonical ids, Spanish and English labels and synonyms.

Extraction reads notes with them (`indexing.extraction`) and the question planner reads questions with them
(`retrieval.plan`), so a condition a note names ('carpal tunnel syndrome') is the same id in both. Terms the base
vocabulary already holds keep their ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from casewise.vocabulary import BUILTIN, Term, Vocabulary, fold


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




def general_operations(base: Vocabulary = BUILTIN) -> frozenset[str]:
    """The operations the general terms add to `base`: read in any note or question, unlike a general drug or
    condition, which is background beside the clinic's own terms."""
    own = {t.id for t in base.treatments}
    return frozenset(t.id for t in general_vocabulary(base).treatments if t.id not in own and t.category == "surgery")

# Labels of conditions and treatments a clinician may ask about that no vocabulary here holds: the question
# planner names them (unknown), and the answer says in the question's language that the records hold none.
ASKED_ONLY: dict[str, tuple[str, str]] = {
    "fibromyalgia": ("fibromialgia", "fibromyalgia"),
    "trochanteric_bursitis": ("bursitis trocantérea", "trochanteric bursitis"),
    "ankle_sprain": ("esguince de tobillo", "ankle sprain"),
    "chondromalacia": ("condromalacia", "chondromalacia"),
    "hamstring_injury": ("lesión de isquiotibiales", "hamstring injury"),
    "thumb_base_oa": ("rizartrosis", "thumb base osteoarthritis"),
    "shoulder_oa": ("artrosis de hombro", "shoulder osteoarthritis"),
    "ankle_oa": ("artrosis de tobillo", "ankle osteoarthritis"),
    "migraine": ("migraña", "migraine"),
    "medial_epicondylitis": ("epicondilitis medial (epitrocleítis)", "medial epicondylitis"),
    "gluteal_tendinopathy": ("tendinopatía glútea", "gluteal tendinopathy"),
    "cancer": ("cáncer", "cancer"),
    "covid": ("COVID-19", "COVID-19"),
    "depression": ("depresión", "depression"),
    "asthma": ("asma", "asthma"),
    "ozone": ("ozonoterapia", "ozone therapy"),
    "botulinum_toxin": ("toxina botulínica", "botulinum toxin"),
    "prolotherapy": ("proloterapia", "prolotherapy"),
    "acupuncture": ("acupuntura", "acupuncture"),
    "radiofrequency": ("radiofrecuencia", "radiofrequency"),
    "mesotherapy": ("mesoterapia", "mesotherapy"),
    "collagen": ("colágeno", "collagen"),
    "exosomes": ("exosomas", "exosomes"),
    "laser": ("láser", "laser"),
    "dry_needling": ("punción seca", "dry needling"),
    "percutaneous_electrolysis": ("electrólisis percutánea", "percutaneous electrolysis"),
    "tecar": ("tecarterapia", "TECAR therapy"),
    "opioids": ("opioides", "opioids"),
    "nsaid_injection": ("infiltración de AINE", "NSAID injection"),
}


def general_label(term_id: str, language: str = "en") -> str | None:
    """The Spanish or English label of a general term or of one only ever asked about (None for other ids)."""
    for t in DIAGNOSES + PROCEDURES:
        if t.id == term_id:
            return t.es if language == "es" else t.en
    if term_id in ASKED_ONLY:
        return ASKED_ONLY[term_id][0 if language == "es" else 1]
    return None


def term_label(term_id: str, language: str = "en", vocab: Vocabulary = BUILTIN) -> str:
    """What a term id is called in `language`: the vocabulary's label, a general term's, else the id in words."""
    text = vocab.label(term_id, language)
    if text != term_id:
        return text
    return general_label(term_id, language) or term_id.replace("_", " ")
