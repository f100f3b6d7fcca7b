"""Regular expressions for PHI that spaCy's NER misses, in Spanish and English clinical text.

Each rule yields the span of its named group `phi` (or the whole match), so a label such as "NHC:" gives context
without being removed itself. Validators (DNI/NIE check letter, Luhn, IP syntax, digit counts) cut false positives.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from indexing.deid.lexicon import COUNTRY_NAMES, NOT_NAMES, fold

# Latin letters with diacritics (Latin-1 and Latin Extended-A/B): Spanish, and the names of the rest of Europe
# ("Møller", "Šušulić", "Szölösi", "Þorsteinsgata")
_LATIN_EXTRA = [chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()]
UP = "A-Z" + "".join(c for c in _LATIN_EXTRA if c.isupper())
LOW = "a-z" + "".join(c for c in _LATIN_EXTRA if c.islower())
_NOT_NAME = (r"(?!(?:Fecha|FECHA|Date|DATE|Visit|Visita|DNI|NIE|NIF|NHC|MRN|DOB|Sexo|Sex|Edad|Age|Tel|Tfno|Móvil|Movil|Fax|FAX|"
             r"E-mail|Domicilio|Dirección|Direccion|Address|Phone|Email|Correo|Consulta|CONSULTA|Motivo|Diagn[oó]stico|Dx)\b)")
_PARTICLE = r"(?:de|del|la|las|los|y|i|van|von|da|di|do|dos|das|le|el|du|den|der|mc|mac)"
# A name word: "Gil", "LLoret" (a typed double capital), "Torregrosa-de" (a compound that goes on after a space:
# "Torregrosa-de Juan"), "GIL", an initial "J." or "Mª".
_APOS = "'’´"
# "O'Brien", "D'Souza", "McDonald", "MacLeod", "FitzGerald": a capital inside the word after the prefix.
_PREFIX = rf"(?:[{UP}][{_APOS}]|Mc|Mac|Fitz)"
_W = _NOT_NAME + (rf"(?:M[ªº]|M\.ª|M\.a|"
                  rf"{_PREFIX}?[{UP}]{{1,2}}[{LOW}][{LOW}{_APOS}]*(?:-(?:{_PREFIX}?[{UP}][{LOW}][{LOW}{_APOS}]*|{_PARTICLE}(?=[ \t][{UP}])))?|"
                  rf"(?:[{UP}][{_APOS}])?[{UP}]{{2,}}(?:-(?:[{UP}][{_APOS}])?[{UP}]{{2,}})?|[{UP}]\.)")
# Name words are separated by ONE space or tab: two or more are a column gap in a form ("Ana Gil    F. nac.: ..."),
# and the next column's label must not become part of the name.
_SP = r"[ \t](?![ \t])"
NAME = rf"{_W}(?:{_SP}(?:{_PARTICLE}{_SP})*{_W}){{0,5}}"
# Markdown emphasis may wrap a label: "**Paciente:** Tomás Ibarra", "__Patient__: John Smith"
_MD = r"[*_]{0,3}"
_LABEL_END = rf"{_MD}\s*:{_MD}[ \t]*"

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_valid(value: str) -> bool:
    """True when a DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter) has the right check letter."""
    v = "".join(ch for ch in value.upper() if ch.isalnum())
    if len(v) != 9:
        return False
    if v[0] in "XYZ":
        v = str("XYZ".index(v[0])) + v[1:]
    if not v[:8].isdigit():
        return False
    return DNI_LETTERS[int(v[:8]) % 23] == v[8]


def luhn_valid(value: str) -> bool:
    """Luhn checksum (credit cards)."""
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _ip_valid(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _digits_between(lo: int, hi: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return lo <= sum(c.isdigit() for c in value) <= hi

    return check


def _es_phone(value: str) -> bool:
    digits = "".join(c for c in value if c.isdigit())
    if digits.startswith("0034"):
        digits = digits[4:]
    elif digits.startswith("34") and len(digits) == 11:
        digits = digits[2:]
    return len(digits) == 9 and digits[0] in "6789"


@dataclass(frozen=True, slots=True)
class Rule:
    """One regular expression for one PHI type; `validate` gets the matched PHI text."""

    name: str
    entity: str
    pattern: re.Pattern[str]
    score: float = 0.9
    validate: Callable[[str], bool] | None = None
    languages: tuple[str, ...] = ("es", "en")
    # sees the whole text: may narrow the span (start, end) or drop it (None)
    refine: Callable[[str, int, int], tuple[int, int] | None] | None = None


def _c(p: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(p, flags | re.MULTILINE)


_PATIENT_NAME_LABELS = (
    r"Pac\.|Pte\.|Pt|Pat\.|Nombre(?:\s+y\s+apellidos)?|Apellidos?|Paciente|Nombre del paciente|Familiar|Acompañante|Contacto|"
    r"Madre|Padre|Esposo|Esposa|Cónyuge|Tutor|Tutora|Patient(?:'s)?(?:\s+name)?|Name|Full name|Surname|"
    r"First name|Last name|Given name|Family name|Next of kin|Emergency contact|Mother|Father|Spouse|Guardian|Re|Regarding|"
    r"Asunto|Ref|Referencia|Relative|Carer|Caregiver|Cuidador|Cuidadora|Son|Daughter|Husband|Wife|Hijo|Hija|Marido"
)
_PRO_NAME_LABELS = (
    r"Médico|Medico|Médico responsable|Responsable cl[ií]nico|Remitido por|Derivado por|Firmado(?:\s+por)?|Firma|"
    r"Facultativo|Fisioterapeuta|Enfermer[oa]|Doctor|Doctora|Dr|Dra|Atendido por|Informa|Cirujano|Anestesista|"
    r"Physician|Attending(?:\s+physician)?|Referred by|Referring physician|Signed(?:\s+by)?|Provider|Nurse|Surgeon|"
    r"Therapist|Seen by"
)
_TITLES_PRO = r"Dr|Dra|Drs|Dres|Doctor|Doctora|Prof|Profa|Profesor|Profesora|Lcdo|Lcda|Ldo|Lda"
_TITLES_PERSON = r"Sr|Sra|Srta|Dña|Dª|D|Mr|Mrs|Ms|Miss|Mx|Don|Doña"

_ID_LABELS = (
    r"NHC|N\.H\.C\.|MRN|HC|H\.C\.|N[º°o]\.?\s*(?:de\s+)?(?:historia|HC|H\.C\.)(?:\s+cl[ií]nica)?|"
    r"(?:n[úu]mero\s+de\s+)?historia\s+cl[ií]nica|NASS|NUSS|NSS|N[º°o]\.?\s*(?:de\s+)?(?:afiliaci[oó]n|SS|"
    r"seguridad\s+social)|CIPA|CIP|TSI|CIP-?SNS|tarjeta\s+sanitaria|Episodio|N[º°o]\.?\s*(?:de\s+)?episodio|"
    r"N[º°o]\.?\s*(?:de\s+)?Col(?:egiad[oa])?\.?|Colegiad[oa]|N[º°o]\.?\s*(?:de\s+)?colegiad[oa]|"
    r"DNI|D\.N\.I\.?|NIF|N\.I\.F\.?|NIE|N\.I\.E\.?|CIF|Pasaporte|Passport(?:\s+(?:no\.?|number|#))?|SSN|"
    r"Social\s+Security(?:\s+(?:No\.?|Number|#))?|Medical\s+record(?:\s+(?:number|no\.?|#))?|"
    r"Record\s+(?:No\.?|number|#)|Insurance(?:\s+(?:ID|No\.?|number|#))?|Policy(?:\s+(?:No\.?|number|#))?|"
    r"Member\s+ID|Patient\s+ID|ID|P[óo]liza|N[º°o]\.?\s*(?:de\s+)?p[óo]liza|Aseguradora|Mutua|"
    r"Account(?:\s+(?:No\.?|number|#))?|License(?:\s+(?:No\.?|number|#))?|Licencia|Driver'?s\s+license(?:\s+#)?|"
    r"nhc-|N[º°o]\.?\s*(?:de\s+)?(?:petici[oó]n|muestra|informe|ingreso|registro)|Petici[oó]n|Muestra|Biopsia\s+n[º°o]\.?"
)
# "1234567", "AB-123456", "nhc/976421" (a lower-case prefix only before a slash or hyphen), "92-91-90-8443-1"
_ID_VALUE = r"(?:[A-Z]{1,3}[ -]?|[A-Za-z]{1,4}[/-])?\d(?:\d|[ \-/.](?=\d))*[A-Z]?\b"

_STREET_ES = (
    r"C/|c/|(?<![º°\d])(?<![º°\d][ \t])(?<!\do[ \t])C\.|Calle|calle|CALLE|Avda\.?|AVDA\.?|avda\.?|Avd\.?|Av\.|Avenida|avenida|AVENIDA|Avenido|Plaza|plaza|"
    r"Pza\.?|Pl\.|Paseo|paseo|P[º°]\.?|P\.[º°]|Camino|Carretera|Ctra\.?|Ronda|Travesía|Trav\.|Glorieta|Urbanización|Urb\.|"
    r"Pasaje|Psje\.|Vía|Rúa|Carrer|Cra\.|Carr\.|Carrera(?=[ \t]+\d)|Rambla|Barrio|Bº|Polígono|Pol\.|Costanilla|Cuesta|Callejón|Partida|Lugar"
)
_STREET_WORD = rf"(?:[dD][´'’])?[{UP}0-9][\w'´.\-]*"
# floor, door and staircase after the house number: "4 Izq", "5 Der.", "Bajo A", "2D", "3.o B", "10o D", "2º Dcha"
_FLOOR = (r"(?:[ \t]*[,.\-]?[ \t]*(?:\d{1,3}(?!\d)(?:[ºª°]|\.?(?:oa|o|a)(?![a-z]))?(?:[A-Z](?![\w]))?|[ºª°]|"
          r"(?i:izq(?:da|\.)?|izda\.?|izdo\.?|izquierda|dcha\.?|dch\.?|der(?:echa|\.)?|centro|ctro\.?|"
          r"(?:piso|planta|escalera|esc\.?|portal|bajo|puerta|pta\.|bloque|dto\.?|depto\.?|departamento|edf\.?|edif\.|"
          r"edificio)[ \t]*[\"“]?-?\w*[\"”]?)(?![\w])"
          rf"|[A-Z](?![\w])|[\"“][A-Z0-9][\"”]|(?:Col\.|Colonia)[ \t]+[{UP}][\w'´\-]*(?:[ \t]+[{UP}][\w'´\-]*){{0,2}})){{0,4}}")
ADDRESS_ES = (
    rf"(?:{_STREET_ES})\.?[ \t]*(?:(?:de|del|la|las|los|el|d´|d')[ \t]+)*{_STREET_WORD}"
    rf"(?:[ \t]+(?:(?:de|del|la|las|los|el|y|d´|d')[ \t]+)*{_STREET_WORD})*"
    r"(?:[ \t]*,?[ \t]*(?:(?:[nN][ \t]?[º°o]\.?|No\.|n[úu]mero|num\.|\#)[ \t]*)?"
    r"(?:\d+[ºª°]?(?:[ \t]?[A-Za-z](?![a-z]))?(?:[-–]\d+(?![oaºª°\d]))?(?:[ \t]+y[ \t]+\d+(?![\w.,]\d))?|s/n|S/N|[kK]m\.?[ \t]*\d+(?:[,.]\d+)?))?"
    + _FLOOR
)
# USPS Publication 28 street suffixes (full names) plus common abbreviations: US addresses use far more than
# "Street" and "Avenue" (Synthea exports, for one, draw from the whole list: "Stehr Junction", "Kris Dam").
_USPS_SUFFIXES = (
    "Alley Annex Arcade Avenue Bayou Beach Bend Bluff Bluffs Bottom Boulevard Branch Bridge Brook Brooks Burg Burgs "
    "Bypass Camp Canyon Cape Causeway Center Centers Circle Circles Cliff Cliffs Club Common Commons Corner Corners "
    "Course Court Courts Cove Coves Creek Crescent Crest Crossing Crossroad Crossroads Curve Dale Dam Divide Drive "
    "Drives Estate Estates Expressway Extension Extensions Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge "
    "Forges Fork Forks Fort Freeway Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Haven "
    "Heights Highway Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes "
    "Landing Lane Light Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission "
    "Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks Parkway Parkways Pass Passage Path Pike "
    "Pine Pines Place Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid Rapids Ridge Ridges "
    "River Road Roads Route Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs Spur Spurs Square Squares "
    "Station Stravenue Stream Street Streets Summit Terrace Throughway Trace Track Trafficway Trail Trailer Tunnel "
    "Turnpike Underpass Union Unions Valley Valleys Viaduct View Views Village Villages Ville Vista Walk Walks Wall "
    "Way Ways Well Wells Close"
).split()
_STREET_EN = "|".join(sorted(set(_USPS_SUFFIXES) | {
    "St", "Str", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl", "Sq", "Ter", "Pkwy", "Hwy", "Cir", "Trl", "Jct", "Expy", "Fwy"},
    key=len, reverse=True))
ADDRESS_EN = (
    rf"\b(?:\d{{1,6}}[ \t]+){{1,2}}(?:[NSEW]\.?[ \t]+)?(?:[{UP}][\w'\-]*\.?[ \t]+){{1,4}}(?:{_STREET_EN})\b\.?"
    r"(?:,?[ \t]*(?:Apt|Apartment|Suite|Ste|Unit|#|Floor|Fl|Room|Rm)\.?[ \t]*#?[\w-]+)?"
)
# A street written without its type, known by what follows its name: a house-number marker ("Frexes No. 121",
# "Jujuy Nº 491 2º piso"), "s/n" (sin número: "Loma Colmenar s/n"), or a number and a Mexican colonia
# ("Chimalpopoca 14, Col. Obrera"). A name word ends without a period unless it is an initial or a street
# abbreviation, so the name does not run back over the sentence before it ("... González. San Martín número 14").
_STREET_ABBR = r"(?:Av|Avda|Sta|Sto|Prof|Dr|Dra|Gral|Pdte|Ing|Lic|Mtro|Ctra|Carr|Urb|Pza|Pl|Univ)\."
_SNAME_W = rf"(?:{_STREET_ABBR}|[{UP}]\.|(?:[dD][´'’])?[{UP}][\w'´\-]*(?![\w.]))"
_SNAME = rf"{_SNAME_W}(?:[ \t]+(?:(?:de|del|la|las|los|el|y|d´|d')[ \t]+)*{_SNAME_W}){{0,4}}"
_HOUSE_MARK = r"(?:[nN][ \t]?[º°]\.?|No\.?|N\.[º°]|n\.[º°]|[nN][úu]mero|[nN][úu]m\.)"
ADDRESS_MARKED = (rf"{_SNAME},?[ \t]*(?:{_HOUSE_MARK}[ \t]*\d{{1,5}}[A-Za-z]?\b(?:[-–/]\d{{1,4}}\b)?"
                  r"|s/n|S/N|s\.n\.|,[ \t]*(?:sn|SN)\b)(?:\.?[ºª])?" + _FLOOR)
ADDRESS_COLONIA = (rf"{_SNAME},?[ \t]*\d{{1,5}}[A-Za-z]?\b(?=[ \t]*[,.]?[ \t]*(?:Col\.|Colonia)[ \t]+[{UP}])" + _FLOOR)
# Words that a number follows in clinical and form text ("Figura Nº 2", "Cama nº 12", "Case No. 3", "Lote nº 45"),
# or that begin a department's name ("Servicio de Oftalmología"): never part of a street's name.
_NOT_STREET = frozenset(fold(w) for w in """
figura fig tabla caso casos grupo cama habitacion historia expediente paciente lote protocolo estudio anexo ley
decreto articulo art sesion ciclo dosis tipo grado estadio fase nivel test escala informe registro muestra peticion
biopsia episodio modelo serie referencia ref talla tamano calibre numero version pagina volumen vol capitulo
size model lot type grade stage figure table case group room bed page number chapter item cycle session dose
""".split())
_STREET_LEAD_OK = frozenset(["en", "in", "at", "on"])
_MARK_WORDS = frozenset(["no", "n", "num", "numero"])
_SNAME_RE = re.compile(_SNAME)


def _street_name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The street of a match that names no street type: it starts after the clinical or form words that lead it
    ("Servicio de Oftalmología Plaza ..." -> "Plaza ..."); none is left, or a lower-case word comes before the name
    ("bioprótesis Mitroflow nº 23": a device's size), and it is no street."""
    name = _SNAME_RE.match(text, start, end)
    name_end = name.end() if name else start
    for m in _LETTERS.finditer(text, start, name_end):
        word = m.group()
        if word[0].islower() or fold(word) in NOT_NAMES or fold(word) in _NOT_STREET:
            continue
        if fold(word) in _MARK_WORDS:
            return None
        if m.start() > start:
            return m.start(), end
        break
    else:
        return None
    before = list(_LETTERS.finditer(text, max(0, start - 40), start))
    if before and before[-1].group()[0].islower() and fold(before[-1].group()) not in _STREET_LEAD_OK \
            and re.fullmatch(r"[ \t]+", text[before[-1].end():start]):
        return None
    return start, end


_LETTERS = re.compile(r"[^\W\d_]+")
# Before a period that ends no field: an initial ("M. Lemus") or an abbreviation ("No. 121", "Avda. Juan Carlos")
_NOT_AN_END = "".join(rf"(?<!\b{a})" for a in (
    "[A-Z]", "N[oº]", "Av", "Avd", "Avda", "Sta", "Sto", "Dr", "Dra", "Edf", "Col", "[kK]m", "Pza", "Ctra", "Carr", "Urb",
    "[eE]sc", "Prof", "Gral", "Pl", "Sr", "Sra", "St", "Apt", "Ste"))

# Street types of the rest of Europe and Latin America, before the name ("Rue de Tanger 29", "Via dei Fiorentini 17",
# "ul. Miła 53") or glued to it as a suffix ("Skogstien 106", "Ditscheinergasse 80", "Kiannonkatu 98", "Mellemvej 32")
_STREET_BEFORE = (r"Rue|Route|Chemin|Avenue|Boulevard|Allée|Impasse|Quai|Via|Viale|Piazza|Piazzale|Strada|Corso|Largo|"
                  r"Vicolo|Contrada|Rua|Travessa|Praça|Praca|Alameda|Estrada|Avenida|Calle|Carrera|Cra|Diagonal|"
                  r"Transversal|Jirón|ul|ulica|aleja|trg|Cite|Cité|Straße|Strasse")
_STREET_SUFFIX = (r"vej|gade|gatan|gata|vägen|vegen|veien|väg|gränd|stien|katu|tie|kuja|polku|straße|strasse|gasse|"
                  r"weg|laan|straat|plein|gracht|kade|dreef|braut|stræti|allee|platz|damm|põik|maantee")
_STREET_AFTER = (r"utca|u|út|útja|tér|körút|rkp|köz|sor|cesta|ulica|ulice|náměstí|namesti|nábřeží|trg|sokak|caddesi|"
                 r"gate|gata|gatan|vei|veien|vej|terrasse|plass|plads|stræde|allé|"
                 # German and Austrian types written apart from the name: "Passauer Straße 33"
                 r"Straße|Strasse|Str|Gasse|Platz|Allee|Weg")
_NUM = r"\d{1,5}[A-Za-z]?\b\.?"
ADDRESS_INTL_TYPED = (
    rf"(?:\d{{1,6}}[ \t]+){{0,2}}(?:"
    rf"(?:{_STREET_BEFORE})\.?[ \t]+(?:[\w'’´.\-]+,?[ \t]+){{0,4}}?{_NUM}"
    rf"|(?:[{UP}][\w'’´\-]*[ \t]+){{0,3}}[{UP}][\w'’´\-]*(?:{_STREET_SUFFIX})\.?[ \t]+{_NUM}"
    rf"|(?:[{UP}][\w'’´\-]*[ \t]+){{1,3}}(?:{_STREET_AFTER})\.?[ \t]+{_NUM}"
    # the house number before the street type: "63 Rue de Kairouan", "69 Av Sidi Lakhmi", "214 Via dei Mille"
    rf"|\d{{1,6}}[ \t]+(?:{_STREET_BEFORE}|Av|Avda)\.?[ \t]+(?:(?:de|du|des|la|le|les|del|di|dei|da|do|al|el)[ \t]+)*"
    rf"[{UP}][\w'’´\-]*(?:[ \t]+(?:(?:de|du|des|la|le|del|di|dei|da|do|al|el)[ \t]+)*[{UP}][\w'’´\-]*){{0,3}})"
)
# Postal codes of many countries: 4-5 digits, "NNN NN" (Sweden), "NNNNN-NNN" (Brazil), "NN-NNN" (Poland),
# "A1A 1A1" (Canada), "SW1A 1AA" (UK).
_POSTCODE = (r"(?:\d{4,5}(?:-\d{3,4})?|\d{3}[ \t]\d{2}|\d{2}-\d{3}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|"
             r"[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})")
_COUNTRY = "|".join(re.escape(c) for c in sorted(COUNTRY_NAMES, key=len, reverse=True) if len(c) > 3)
_COUNTRY_AT_END = re.compile(rf"(?:^|[ \t]+)(?i:{_COUNTRY})$")


def _without_country(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without a country that ends it (Casewise keeps countries); nothing if only the country is left."""
    m = _COUNTRY_AT_END.search(text, start, end)
    if m is None:
        return start, end
    return (start, m.start()) if m.start() > start else None
def _town_words(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A town's line: none of its words is a clinical, common or stop word ("Antecedentes", "Plan")."""
    from indexing.deid.gazetteer import COMMON_WORDS, stop_words

    words = [fold(w) for w in _LETTERS.findall(text[start:end]) if w[0].isupper()]
    if any(w in NOT_NAMES or w in stop_words() and len(words) == 1 or w in COMMON_WORDS and len(words) == 1
           for w in words):
        return None
    return start, end


# "lives on Rua Mina 50", "address is 9721 Dalmatinova 43": after a phrase that announces an address, a name and a
# house number in either order (most of the world writes the number after the street).
_ADDRESS_CUE = (r"(?i:\b(?:lives?|living|resides?|residing|moved|moving)[ \t]+(?:on|at|in|to)|address(?:[ \t]+is|[ \t]+to)?"
                r"|located[ \t]+at|meet[ \t]+me[ \t]+at|(?:drops?|picks?)[ \t]+you[ \t]+(?:off|up)[ \t]+at|"
                r"vive[ \t]+en|reside[ \t]+en|domiciliad[oa][ \t]+en)[ \t:]+")
# A street line typed in lower case, known by its house number first and a number or a street type last (what
# follows a cue, or an English street type): "255 hersnapvej 18", "3747 3911 fourth avenue". Its words may not be
# stop words or clinical words ("2 blocks down the road", "3 sessions at the center").
_LC_WORD = rf"[{LOW}][{LOW}'´\-]*"
_LC_STREET_TYPES = (r"street|st|avenue|ave|road|rd|drive|lane|ln|boulevard|blvd|court|ct|place|terrace|crescent|"
                    r"parkway|highway|way|calle|avenida|avda|rua|rue|via|strasse|straße|gasse|vej|gade|vei|veien|katu|tie")
ADDRESS_LOWER = (rf"\d{{1,6}}[ \t]+(?:\d{{1,6}}[ \t]+)?(?:{_LC_WORD}[ \t]+){{0,3}}(?:{_LC_WORD}[ \t]+\d{{1,5}}[a-z]?\b|"
                 rf"(?:{_LC_STREET_TYPES})\b\.?(?:[ \t]+\d{{1,5}}[a-z]?\b)?)"
                 r"(?:,?[ \t]*(?:apt|apartment|suite|ste|unit)\.?[ \t]*#?\d{1,5}[a-z]?\b)?")


def _lower_street(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A lower-case street line whose words are street words, not a sentence ("2 blocks down the road")."""
    from indexing.deid.gazetteer import stop_words

    words = [w for w in _LETTERS.findall(text[start:end]) if not re.fullmatch(_LC_STREET_TYPES, w)
             and w not in ("apt", "apartment", "suite", "ste", "unit")]
    if not words or any(fold(w) in stop_words() or fold(w) in NOT_NAMES or fold(w) in _NOT_STREET for w in words):
        return None
    return start, end


ADDRESS_INTL = (rf"(?:\d{{1,6}}[ \t]+)?(?:[{UP}][\w'´.\-]*[ \t]+(?:(?:de|da|do|del|la|di|van|von)[ \t]+)?){{1,4}}"
                r"\d{1,5}[A-Za-z]?\b\.?")
# A street line with a unit on it or on the next line: "Dalmatinova 43 Apt. 678", "864 Piazzetta Rubiani 104\n Apt. 905"
ADDRESS_WITH_UNIT = (rf"{ADDRESS_INTL}(?=,?[ \t]*(?:\n[ \t>?]*)?(?:Apt|Apartment|Suite|Ste)\.?[ \t]*#?\d)")
_MONTHS = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Week|Day|Room|"
           r"Bed|Phase|Stage|Grade|Type|Level|Enero|Febrero|Marzo|Abril|Mayo|Junio|Julio|Agosto|Septiembre|Octubre|"
           r"Noviembre|Diciembre|Semana|Cama|Habitaci[oó]n|Grado|Tipo|Fase|Nivel)\b")
_PLACE_WORDS = (rf"(?!{_MONTHS})[{UP}][{LOW}'’\-]+(?:[ \t]+(?:(?:de|da|do|di|del|la|le|sur|am|an|upon)[ \t]+)?"
                rf"(?:[{UP}][\w'’\-]*|[{UP}]))"r"{0,3}")
_CODE_AFTER = r"(?!(?:19|20)\d\d\b)(?:\d{4,5}(?:-\d{3,4})?|\d{3}[ \t]\d{2}|\d{2}-\d{3})(?![\w,/-]|[.,]\d)"
_PLACE_CUE = (r"(?i:\b(?:grew[ \t]+up[ \t]+in|originally[ \t]+from|(?:moved|came|comes|emigrated)"
               r"(?:[ \t]+here)?[ \t]+(?:from|to)|flew[ \t]+to|(?:lives|lived|living|live|resides|"
               r"resided|residing|raised|born|based|settled|staying|stays|stayed)[ \t]+in|returned[ \t]+to|home[ \t]+(?:city|town)"
               r"(?:[ \t]+of)?|hometown(?:[ \t]+of)?|(?:i[ \t]+am|i'm|we[ \t]+are|we're)[ \t]+in|"
               r"(?:travell?ing|travell?ed|trip|vacation|holidays?)[ \t]+(?:to|in)|natural[ \t]+de|"
               r"(?:vive|vivía|vivia|vivió|reside|residía|"
               r"residente|afincad[oa]|domiciliad[oa]|nacid[oa]|criad[oa]|empadronad[oa])[ \t]+en|"
               r"procedente[ \t]+de|vecin[oa][ \t]+de|se[ \t]+(?:mudó|traslad[óo])[ \t]+(?:a[ \t]+vivir[ \t]+)?a))")
_GREEK = r"[Α-ΩΆΈΉΊΌΎΏ][Α-ΩΆΈΉΊΌΎΏα-ωάέήίόύώϊϋΐΰ∆]+"
_GREEK_WORD = r"[Α-ΩΆΈΉΊΌΎΏα-ωάέήίόύώϊϋΐΰ∆]{3,}"
_LOCATION_LABELS = (
    r"Localidad(?:[ \t]*/[ \t]*Provincia)?|Provincia|Municipio|Ciudad|Poblaci[oó]n|Lugar de nacimiento|"
    r"Lugar de residencia|Residencia|City|Town|County|Place of birth|Birthplace"
)
_INSTITUTION_HEAD = (
    r"Hospital(?:\s+[Uu]niversitario|\s+General|\s+Cl[ií]nico|\s+Comarcal|\s+Provincial)*|Cl[ií]nica|Policl[ií]nica|"
    r"Consorcio|Asociaci[oó]n|Sociedad|Laboratorios?|Xarxa|Escuela|Colegio|Academia|Juzgado|"
    r"Centro\s+de\s+Salud|Centro\s+M[ée]dico|Centro|C\.S\.|Complejo\s+Hospitalario|Complejo\s+Asistencial|"
    r"Fundaci[oó]n|Fundaci[oó]|Universidad|Universitat|Facultad|Instituto|Institut|Residencia|Sanatorio|Mutua|"
    r"Consultorio|Servicio\s+(?:Andaluz|Madrileño|Vasco|Gallego|Navarro|Canario|Aragonés|Cántabro)\s+de\s+Salud|"
    r"University|Clinic|Medical\s+Center|Medical\s+Centre|Institute|Foundation|Health\s+System|Hospitals?"
)
INSTITUTION = (
    rf"(?:{_INSTITUTION_HEAD})(?:[ \t]+(?:(?:de|del|la|las|los|el|y|i|para|of|the|and|San|Santa)[ \t]+)*(?:d['’´])?"
    rf"(?:[{UP}0-9][\w'’´\-]*))+"
    # its quoted name and its acronym: 'Hospital General "San Carlos"', 'Hospital Universitario La Paz (HULP)'
    rf"(?:[ \t]+[\"“«][^\"”»\n]{{2,60}}[\"”»])?(?:[ \t]*\([ \t]*[{UP}][{UP}0-9\-]{{1,11}}[ \t]*\))?"
)

# "SURNAME SURNAME, Given" as registries write names.
NAME_LISTED = rf"{NAME}(?:,[ \t]*{NAME})?"
# "O'BRIEN, William", "GARCÍA-LORCA LÓPEZ, Ana": surnames in capitals, a comma, the given name (no label needed)
_CAPS_W = rf"(?:[{UP}][{_APOS}])?[{UP}]{{2,}}(?:-(?:[{UP}][{_APOS}])?[{UP}]{{2,}})?"
CAPS_LISTED = (rf"{_CAPS_W}(?:{_SP}(?:(?i:{_PARTICLE}){_SP})*{_CAPS_W}){{0,3}},[ \t]*"
               rf"{_W}(?:{_SP}(?:{_PARTICLE}{_SP})*{_W}){{0,2}}")
_KIN = (
    r"herman[oa]|hij[oa]|espos[oa]|marido|mujer|madre|padre|sobrin[oa]|niet[oa]|prim[oa]|cuñad[oa]|yerno|nuera|"
    r"pareja|amig[oa]|cuidador[a]?|husband|wife|daughter|son|sister|brother|mother|father|niece|nephew|"
    r"grand(?:son|daughter)|partner|friend|carer|caregiver"
)

def _not_speech(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A label's one-word value that is the first word of what a speaker says ("Paciente: Me duele la rodilla",
    "Doctor: Vamos a infiltrar", "Patient: My knee hurts") is no name: a stop word with the line going on after it."""
    from indexing.deid.gazetteer import stop_words

    value = text[start:end]
    if any(c in value for c in " \t,") or fold(value.rstrip(".")) not in stop_words():
        return start, end
    rest = text[end:text.find("\n", end) if "\n" in text[end:] else len(text)]
    return None if rest.strip(" \t\r") else (start, end)


def _not_stop_words(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A name's words: none a stop word or a clinical word ("She lives at", "patient lives at")."""
    from indexing.deid.gazetteer import stop_words

    words = [fold(w) for w in _LETTERS.findall(text[start:end])]
    if not words or any(w in stop_words() or w in NOT_NAMES for w in words if len(w) > 1):
        return None
    return start, end


# A speaker's label at the start of a line of a transcript or chat typed in lower case: "dr. fernández:",
# "dra. lópez gil:", "sra. martín:". The title says a person's name follows; the colon ends the label.
_SPEAKER_LOWER_W = rf"[{LOW}][{LOW}{_APOS}\-]+"
_SPEAKER_NAME = (rf"\.?[ \t]+(?P<phi>{_SPEAKER_LOWER_W}(?:[ \t](?:(?:de|del|la|y)[ \t])?{_SPEAKER_LOWER_W}){{0,3}})"
                 rf"(?=[ \t]*:)")
_SPEAKER_AT = r"^[ \t>*_-]*"


def _speaker_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A lower-case speaker label's words are a name unless the first is a common or clinical word ("dr. de
    guardia:", "dra. residente:")."""
    from indexing.deid.gazetteer import COMMON_WORDS, stop_words

    first = fold(text[start:end].split()[0])
    if first in stop_words() or first in NOT_NAMES or first in COMMON_WORDS:
        return None
    return start, end


_ADJECTIVE_HEADS = re.compile(r"(?:Cl[ií]nic[ao]s?|Universitari[ao]s?|Hospitalari[ao]s?)\b")
_NEXT_HEAD = re.compile(r"[ \t]+(?=(?:Hospital|Complejo|Cl[ií]nica|Policl[ií]nica|Universidad|Facultad|Instituto|Centro|"
                        r"Fundaci[oó]n|Consorcio|Sanatorio)\b)")


def _not_an_adjective(text: str, start: int, end: int) -> tuple[int, int] | None:
    """"Clínica" after a discipline is its adjective, not a clinic: "Unidad de Nutrición Clínica y Dietética"; the
    institution, if any, starts at the next head word ("... Clínica y Dietética Hospital Universitario La Paz").
    A name that goes on after it is a clinic's ("Departamento de Oftalmología Clínica Universitaria de Navarra")."""
    before = text[max(0, start - 30):start]
    if not (_ADJECTIVE_HEADS.match(text, start) and re.search(rf"[{UP}][{LOW}]+[ \t]$", before)
            and not re.search(r"(?i:\b(?:la|el|los|las|una|un|del|de|en))[ \t]+$", before)):
        return start, end
    head_end = _ADJECTIVE_HEADS.match(text, start).end()  # type: ignore[union-attr]
    nxt = _NEXT_HEAD.search(text, head_end, end)
    if nxt:
        return nxt.end(), end
    if re.match(r"[ \t]+(?:y|e)[ \t]", text[head_end:end + 3]) or head_end >= end:
        return None
    return start, end


RULES: list[Rule] = [
    # --- names (labelled fields and titles) ---
    Rule("name_label", "PERSON", _c(rf"(?i:\b(?:{_PATIENT_NAME_LABELS})){_LABEL_END}(?P<phi>{NAME_LISTED})"), 0.95,
         refine=_not_speech),
    # "Paciente Tomás Ibarra Gil, NHC ..." / "Patient John Smith, 54": a label without a colon, then a full name
    # (two or more capitalised words) that ends where the sentence goes on.
    Rule("caps_listed", "PERSON", _c(rf"(?<![\w{_APOS}])(?P<phi>{CAPS_LISTED})(?![\w{_APOS}])"), 0.8),
    # Above spaCy's 0.85: Presidio drops a result that a same-type result with an equal score contains, and spaCy's
    # span often takes in the label or a heading before it ("Nota de seguimiento: Paciente Tomás Ibarra Gil").
    # A verb in lower case may follow the name ("Paciente Tomás Ibarra Gil acude por ...").
    Rule("name_after_patient", "PERSON", _c(rf"(?i:\b(?:paciente|patient|pte\.|pac\.)){_MD}[ \t]+"
                                            rf"(?P<phi>{_W}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_W}){{1,4}})"
                                            r"(?=[ \t]*(?:[,.;:(*]|$|(?i:de|of|con|with|aged|NHC|MRN)\b|[a-záéíóúñ]{2,}\b))"), 0.9),
    # relatives and companions: "su hermana (María José Santana)", "Viene con Begoña Diez (hija)", "husband Gary Phillips"
    Rule("kin_before", "PERSON", _c(rf"(?i:\b(?:{_KIN}))\b[ \t]*[(,:]?[ \t]*(?P<phi>{NAME})"), 0.9),
    Rule("kin_after", "PERSON", _c(rf"(?P<phi>{NAME})[ \t]*\((?i:{_KIN})\)"), 0.9),
    Rule("companion", "PERSON", _c(rf"(?i:\b(?:(?:viene|acude|llega|vino|acudió|está|esta)[ \t]+(?:acompañad[oa][ \t]+)?"
                                   rf"(?:con|de|por)|acompañad[oa][ \t]+(?:de|por)|en[ \t]+compañía[ \t]+de|junto[ \t]+(?:a|con)|"
                                   rf"accompanied[ \t]+by|escorted[ \t]+by|brought[ \t]+(?:in[ \t]+)?by|together[ \t]+with|"
                                   rf"(?:comes|came|attends|attended|is[ \t]+here|here|presents|presented|arrives|arrived)[ \t]+with))"
                                   rf"[ \t]+(?:(?i:su|sus|his|her|their|the|el|la|a)[ \t]+)?(?:(?i:{_KIN})[ \t]*,?[ \t]+)?"
                                   rf"(?P<phi>{NAME})"), 0.9),
    # letters: "Dear John,", "Dear Mr O'Brien", "Estimada Sra. López:", "Querida Ana"
    Rule("salutation", "PERSON", _c(rf"(?i:\b(?:dear|hi|hello|estimad[oa]s?|querid[oa]s?|apreciad[oa]s?|hola))[ \t]+"
                                    rf"(?:(?:{_TITLES_PERSON}|{_TITLES_PRO})\.?[ \t]+)?(?:{_PARTICLE}[ \t]+){{0,2}}(?P<phi>{NAME})(?=[ \t]*(?:[,:;!\n]|$))"), 0.85),
    # signatures: the name on the line after "Yours sincerely,", "Kind regards,", "Atentamente,", "Un saludo,", "Fdo.:"
    Rule("signature", "PERSON", _c(rf"(?i:\b(?:yours[ \t]+(?:sincerely|faithfully|truly)|sincerely|(?:kind|best|warm)[ \t]+regards|"
                                   rf"regards|best[ \t]+wishes|atentamente|cordialmente|un[ \t]+(?:cordial[ \t]+)?saludo|saludos|"
                                   rf"reciba[ \t]+un[ \t]+cordial[ \t]+saludo))[ \t]*[,.]?[ \t]*(?:\r?\n[ \t]*)+"
                                   rf"(?:(?:{_TITLES_PRO}|{_TITLES_PERSON})\.?[ \t]+)?(?P<phi>{CAPS_LISTED}|{NAME})[ \t]*$"), 0.85),
    Rule("signed", "PERSON", _c(rf"(?i:\b(?:fdo\.?|firmado|signed|sgd\.?|firma[ \t]*:))[ \t]*:?[ \t]*"
                                rf"(?:(?:{_TITLES_PRO}|{_TITLES_PERSON})\.?[ \t]+)?(?P<phi>{CAPS_LISTED}|{NAME})"), 0.85),
    # "-- Ana Gil" closing a note
    Rule("dash_signature", "PERSON", _c(rf"^[ \t]*(?:--|—|–)[ \t]*(?:(?:{_TITLES_PRO})\.?[ \t]+)?(?P<phi>{NAME})[ \t]*$"), 0.8),
    # a name that a phrase introduces: "my name is Ana Gil", "I'm Naomi Ryan", "se llama Luis", "a son named Max";
    # above spaCy's 0.85: at an equal score, which of the rule's and spaCy's wider span Presidio kept changed from
    # one process to the next (hash order), and the wider one is then dropped by the name filter
    Rule("name_cue", "PERSON", _c(rf"(?i:\b(?:my[ \t]+name[ \t]+is|name[ \t]+is|name's|call[ \t]+me|named|me[ \t]+llamo|"
                                  rf"se[ \t]+llama|mi[ \t]+nombre[ \t]+es|(?:was|is|were)[ \t]+called|(?:first|last|family|given)[ \t]+name\??:?))"
                                  rf"[ \t]+(?P<phi>{NAME})"), 0.86),
    # "I'm Naomi Ryan" (a full name: "I'm Better today" is not one)
    Rule("name_i_am", "PERSON", _c(rf"(?i:\b(?:i'm|i[ \t]+am))[ \t]+(?P<phi>{_W}(?:{_SP}(?:{_PARTICLE}{_SP})*{_W}){{1,4}})"),
         0.8),
    # the subject of "lives at": "Timotea lives on Via dei Fiorentini 1", "juliusz kwiatkowski lives at 28919 ..."
    # (above spaCy's 0.85, whose equal span of a lower-case name the name filter would drop)
    Rule("name_before_lives", "PERSON", _c(rf"(?<![\w{_APOS}])(?P<phi>{_W}(?:{_SP}(?:{_PARTICLE}{_SP}|[{UP}]{_SP})*{_W}){{0,3}}|"
                                           rf"^[{LOW}][{LOW}{_APOS}\-]+(?:[ \t][{LOW}][{LOW}{_APOS}\-]+){{1,2}})"
                                           r"(?=[ \t]+(?:lives|lived|resides|resided)[ \t]+(?:at|on|in)\b)"), 0.86,
         refine=_not_stop_words),
    Rule("pro_label", "PROFESSIONAL", _c(rf"(?i:\b(?:{_PRO_NAME_LABELS})\.?){_LABEL_END}(?:(?i:{_TITLES_PRO})(?:\.[ \t]*|:[ \t]*|[ \t]+))?"
                                         rf"(?P<phi>{NAME_LISTED})"), 0.95, refine=_not_speech),
    Rule("speaker_lower_pro", "PROFESSIONAL", _c(rf"{_SPEAKER_AT}(?i:{_TITLES_PRO}){_SPEAKER_NAME}"), 0.9,
         refine=_speaker_name),
    Rule("speaker_lower", "PERSON", _c(rf"{_SPEAKER_AT}(?i:{_TITLES_PERSON}){_SPEAKER_NAME}"), 0.9, refine=_speaker_name),
    Rule("pro_title", "PROFESSIONAL", _c(rf"\b(?:{_TITLES_PRO}|dr|dra|doctor|doctora|DR|DRA)(?:\.[ \t]*|[ \t]+)"
                                         rf"(?:{_PARTICLE}[ \t]+){{0,2}}(?P<phi>{NAME})"),
         0.95),
    # above spaCy's 0.85, for the reason given at name_after_patient ("Revisión: Sra. Lucía Ferrán")
    Rule("person_title", "PERSON", _c(rf"\b(?:{_TITLES_PERSON}|(?i:mr|mrs|ms)\.)\.?[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?P<phi>{NAME})"),
         0.86),
    # --- identifiers ---
    # "MartínezNºCol: ..." (a label glued to the name before it, as text extracted from forms often is)
    Rule("id_label", "ID", _c(rf"(?i:(?:\b|(?<=[a-záéíóúñ])(?=N[º°]))(?:{_ID_LABELS}))\b\.?{_MD}[ \t]*(?:[:#]|n[º°o]\.?|number)?{_MD}[ \t]*"
                              r"(?:(?i:is)[ \t]+)?"
                              rf"(?P<phi>{_ID_VALUE})"), 0.95, _digits_between(3, 30)),
    Rule("dni", "ID", _c(r"\b(?P<phi>\d{8}[ -]?[A-Za-z])\b"), 0.95, dni_valid),
    Rule("nie", "ID", _c(r"\b(?P<phi>[XYZxyz][ -]?\d{7}[ -]?[A-Za-z])\b"), 0.95, dni_valid),
    Rule("cif", "ID", _c(r"\b(?P<phi>[ABCDEFGHJNPQRSUVW]-?\d{7}-?[0-9A-J])\b"), 0.8),
    Rule("ssn", "ID", _c(r"\b(?P<phi>\d{3}-\d{2}-\d{4})\b"), 0.9),
    Rule("nass", "ID", _c(r"\b(?P<phi>\d{2}[ /-]\d{8,10}[ /-]\d{2})\b"), 0.9),
    Rule("card", "ID", _c(r"\b(?P<phi>(?:\d{4}[ -]?){3}\d{1,7})\b"), 0.9, luhn_valid),
    Rule("iban", "ID", _c(r"\b(?P<phi>[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,4})?)\b"), 0.9),
    Rule("long_number", "ID", _c(r"(?<![\d.,])(?P<phi>\d{7,})(?![\d,]|\.\d)"), 0.6),
    Rule("alnum_id", "ID", _c(r"\b(?P<phi>[A-Z]{1,3}-?\d{6,}[A-Z]?)\b"), 0.6),
    # --- contact ---
    Rule("email", "EMAIL", _c(r"(?P<phi>\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)"), 1.0),
    Rule("url", "URL", _c(r"(?P<phi>\b(?:https?://|www\.)[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?])", re.IGNORECASE),
         0.95),
    Rule("domain", "URL", _c(r"(?<![@\w.])(?P<phi>[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:com|org|net|es|edu|gov|"
                             r"io|info|cat|eus|gal|uk|de|fr|it|pt|mx|ar|co|biz|us)(?:/[^\s]*[^\s.,;:])?)(?![\w@])",
                             re.IGNORECASE), 0.8),
    Rule("ipv4", "IP", _c(r"\b(?P<phi>\d{1,3}(?:\.\d{1,3}){3})\b"), 0.9, _ip_valid),
    Rule("ipv6", "IP", _c(r"(?<![\w:])(?P<phi>(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4})(?![\w:])"), 0.9, _ip_valid),
    Rule("phone_es", "PHONE", _c(r"(?<![\w+/.\-])(?P<phi>(?:(?:\+|00)[ \t]?34[ \t.\-]?)?[6789]\d{1,2}"
                                 r"(?:[ \t.\-]?\d{2,3}){2,4})(?![\w/]|[.,]\d)"), 0.9, _es_phone),
    Rule("phone_us", "PHONE", _c(r"(?<![\w+/])(?P<phi>(?:\+?1[ \t.\-]?)?(?:\(\d{3}\)[ \t]?|\d{3}[ \t.\-])\d{3}"
                                 r"[ \t.\-]\d{4})(?![\w/])"), 0.85),
    Rule("phone_intl", "PHONE", _c(r"(?<![\w+])(?P<phi>(?:\+|00)\d{1,3}(?:[ \t.\-]?\(?\d{1,4}\)?){2,5})(?!\w)"), 0.8,
         _digits_between(8, 15)),
    Rule("phone_label", "PHONE", _c(r"(?i:\b(?:Tel[ée]fono|Tel[ée]f|Tfno|Tlf|Tlfno|Tel|Móvil|Movil|Fax|Phone|Cell|"
                                    r"Mobile|Desk|Office|Tel\.?\s*/\s*Fax)s?\.?)[ \t]*(?:[:#]|n[º°o]\.?)?[ \t]*\n?[ \t]*"
                                    r"(?P<phi>\+?[ \t]?\(?\d[\d \t().\-]{5,18}\d(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,5})?)"), 0.95,
         _digits_between(6, 20)),
    # a number that a phrase says is a phone: "call me at 0699 868 88 55", "not answering at 78 651 450"
    Rule("phone_cue", "PHONE", _c(r"(?i:\b(?:call(?:[ \t]+(?:me|us|him|her))?[ \t]+(?:at|on)|answering[ \t]+at|"
                                  r"reach(?:ed)?[ \t]+(?:me|us|him|her)?[ \t]*(?:at|on)|messages[ \t]+to|text[ \t]+me[ \t]+at|"
                                  r"llamar[ \t]+al|llame[ \t]+al))[ \t]+(?P<phi>\+?\(?\d[\d \t().\-]{5,18}\d)"), 0.9,
         _digits_between(7, 15)),
    # national numbers with a trunk 0, grouped: "0487 98 11 92", "01.84.17.61.18", "07700 063 966"
    Rule("phone_trunk", "PHONE", _c(r"(?<![\w+/.\-])(?P<phi>\(?0\d{1,4}\)?(?:[ .\-]\d{2,4}){2,4})(?![\w/]|[.,:]\d)"), 0.75,
         _digits_between(9, 12)),
    # a number that the word after it says is a phone: "416 60 039 office", "(37) 788-063-Office", "781 1704 fax"
    Rule("phone_kind_after", "PHONE", _c(r"(?<![\w+/.,])(?P<phi>\+?\(?\d[\d \t().\-]{5,18}\d)(?=[ \t]*-?[ \t]*(?i:office|"
                                         r"fax|mobile|cell|desk|home|work|m[oó]vil|fijo|trabajo|casa)\b)"), 0.85,
         _digits_between(7, 15)),
    # --- places ---
    # Words in Greek script ("ΛΕΥΚΩΣΙΑ", "Λ. Αλεξάνδρας 14"): in these notes names (a town, a street), never clinical
    # vocabulary, which writes a Greek letter alone or before a unit ("α", "TNF-α", "β-bloqueante", "μg"). With a
    # house number beside them they are a street line.
    Rule("greek_street", "ADDRESS", _c(rf"(?<![\w.,/])(?P<phi>(?:\d{{1,6}}[ \t]+){{0,2}}(?:[Α-Ω]\.[ \t]*)?{_GREEK_WORD}"
                                       rf"(?:[ \t]+{_GREEK_WORD}){{0,3}}[ \t]+\d{{1,5}}\b|\d{{1,6}}[ \t]+(?:[Α-Ω]\.[ \t]*)?"
                                       rf"{_GREEK_WORD}(?:[ \t]+{_GREEK_WORD}){{0,3}})"), 0.8),
    Rule("greek_name", "LOCATION", _c(rf"(?<![\w])(?P<phi>{_GREEK_WORD}(?:[ \t]+{_GREEK_WORD}){{0,3}})(?![\w])"), 0.7),
    Rule("address_es", "ADDRESS", _c(rf"(?<![\w/])(?P<phi>{ADDRESS_ES})"), 0.85),
    # 'c/' is Spanish for calle, but 'c/o' is English clinical shorthand for 'complains of' ('c/o R knee pain x 6').
    # the street type too: "calle embajadores, 23" leaves no "calle" behind to say an address was there
    Rule("address_lc", "ADDRESS", _c(r"(?P<phi>(?i:\b(?:(?:calle|avenida|plaza|paseo|carrer|rúa)\b|c/(?!o\b)|avda\.?|av\.))[ \t]*"
                                     r"[a-záéíóúñ][\w´']*(?:[ \t]+[\w´']+){0,4}?,?[ \t]*\d+[A-Za-z]?\b" + _FLOOR + ")"),
         0.8),
    Rule("address_before_cp", "ADDRESS", _c(rf"(?P<phi>(?:[{UP}][\w´'.]*[ \t]+(?:(?:de|del|la|las|los|el|y)[ \t]+)*){{0,5}}"
                                            rf"[{UP}][\w´'.]*,?[ \t]*(?:\d+[A-Za-z]?(?:[-–]\d+)?|s/n|S/N)"
                                            r"(?:[ \t,\-]+(?:\d{1,2}[ºª]?[ \t]?[A-Za-z]?|[A-Z]\d|esc\.[ \t]*\d+))*)"
                                            r"[ \t]*[.,\-]?[ \t]*(?:E-)?(?:0[1-9]|[1-4]\d|5[0-2])\d{3}\b"), 0.8),
    Rule("address_en", "ADDRESS", _c(rf"(?P<phi>{ADDRESS_EN})"), 0.85),
    Rule("address_marked", "ADDRESS", _c(rf"(?<![\w.])(?P<phi>{ADDRESS_MARKED})"), 0.8, refine=_street_name_span),
    Rule("address_colonia", "ADDRESS", _c(rf"(?<![\w.])(?P<phi>{ADDRESS_COLONIA})"), 0.8, refine=_street_name_span),
    # a road and its kilometre: "A-7, km 187", "N-340 km. 12,5"
    Rule("road_km", "ADDRESS", _c(r"(?<![\w.])(?P<phi>[A-Z]{1,2}-?\d{1,3},?[ \t]*[kK]m\.?[ \t]*\d{1,4}(?:[.,]\d{1,3})?)(?![\w])"),
         0.8),
    Rule("address_after_cue", "ADDRESS", _c(rf"{_ADDRESS_CUE}(?P<phi>{ADDRESS_INTL})"), 0.8),
    Rule("address_after_cue_lower", "ADDRESS", _c(rf"{_ADDRESS_CUE}\n?[ \t]*(?P<phi>{ADDRESS_LOWER})(?![\w/-]|[.,]\d)"), 0.8,
         refine=_lower_street),
    # without a cue, only with a street type: "3747 3911 fourth avenue suite 112"
    Rule("address_lower_typed", "ADDRESS", _c(rf"(?<![\w.,/-])(?P<phi>\d{{1,6}}[ \t]+(?:\d{{1,6}}[ \t]+)?(?:{_LC_WORD}[ \t]+){{1,3}}"
                                              rf"(?:{_LC_STREET_TYPES})\b\.?(?:[ \t]+\d{{1,5}}[a-z]?\b)?"
                                              r"(?:,?[ \t]*(?:apt|apartment|suite|ste|unit)\.?[ \t]*#?\d{1,5}[a-z]?\b)?)"), 0.75,
         refine=_lower_street),
    Rule("address_with_unit", "ADDRESS", _c(rf"(?<![\w.])(?P<phi>{ADDRESS_WITH_UNIT})"), 0.8),
    # the town after the unit on the same line: "Suite 215 Nungatta", "Apt. 209 Montehermoso Cáceres." (a country
    # at the end is kept)
    Rule("town_after_unit", "LOCATION", _c(rf"\b(?:Apt|Apartment|Suite|Ste)\.?[ \t]*#?[ \t]*\d{{1,5}}[A-Z]?,?[ \t]+"
                                           rf"(?P<phi>[{UP}][\w'’\-]*(?:[ \t]+[{UP}][\w'’\-]*){{0,2}})"
                                           rf"(?=[ \t]*(?:[,.;:?!)]|$)|[ \t]+(?:{_COUNTRY})\b)"), 0.75, refine=_without_country),
    # the town on the line above the country of a postal address ("ALFRICK\nUnited Kingdom", "Chiclana de la
    # Frontera\nSpain 61709")
    Rule("town_above_country", "LOCATION", _c(rf"^[ \t>]*(?P<phi>[{UP}][\w'’\-]*(?:[ \t]+(?:(?:de|del|la|las|los|el|"
                                              rf"da|do|di|nad|pod|upon|on|sur|am|an)[ \t]+)*[{UP}][\w'’\-]*){{0,3}})[ \t]*,?"
                                              rf"[ \t]*\n(?:[ \t>]*\n)?[ \t>]*(?:{_COUNTRY})(?:[ \t]*\([^)\n]*\))?"
                                              rf"(?:[ \t,]+{_POSTCODE})?[ \t.]*$"), 0.75, refine=_town_words),
    # the region code before a US-style ZIP code ("Grasse, PA 39551"), or on its own line above the postal code
    # (", CO\n 70079", as address blocks are laid out line by line)
    Rule("region_before_zip", "ADDRESS", _c(rf"(?<=[{LOW}{UP}]),[ \t]*(?P<phi>[A-Z]{{2}})(?=[ \t]+\d{{5}}(?:-\d{{4}})?\b)"), 0.75),
    Rule("region_line", "ADDRESS", _c(rf"^[ \t>]*,[ \t]*(?P<phi>(?:[A-Z]{{1,3}}|\d{{1,2}})[ \t]*\n[ \t>]*{_POSTCODE})"
                                      r"(?=[ \t]*[.,;:?!]?[ \t]*$)"), 0.75),
    Rule("unit_designator", "ADDRESS", _c(r"(?P<phi>\b(?:Apt|Apartment|Suite|Ste)\.?[ \t]*#?[ \t]*\d{1,5}[A-Z]?)\b"), 0.8),
    Rule("military_address", "ADDRESS", _c(r"(?i:(?P<phi>\b(?:PSC|Unit|CMR)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{1,5}"
                                           r"|\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}|\b(?:USNS|USNV|USS|USCGC)[ \t]+[\w\-]+))\b"),
         0.9),
    # "8.800/ul con 23" is a count per microlitre, not "ul." (ulica)
    Rule("address_intl", "ADDRESS", _c(rf"(?<![\w./])(?P<phi>{ADDRESS_INTL_TYPED})"), 0.8),
    # "the corner of Beiteveien 2 and Sieda Radial", "en la esquina de Gran Vía con Alcalá"
    # the first street may have a period inside, before the "and" ("the corner of 35 Pentelis Str. and ...",
    # "the corner of ul. Jesionowa 127 and ..."): an abbreviation or a house number, not the sentence's end
    Rule("corner", "ADDRESS", _c(r"(?P<phi>(?i:\bthe[ \t]+corner[ \t]+of|\besquina[ \t]+(?:de[ \t]+)?)[ \t]+"
                                 r"(?:[^\n,.;?!]|\.(?=[ \t]+[^\n,.;?!]{0,40}?[ \t](?i:and|with|con|y)[ \t])){3,60}?"
                                 r"[ \t]+(?i:and|with|con|y)[ \t]+[^\n,.;?!]{2,40}?)(?=[ \t]*(?:[\n,.;?!]|$|(?i:st\.|street)))"),
         0.8),
    Rule("po_box", "ADDRESS", _c(r"(?P<phi>\b(?:P\.?\s?O\.?\s+Box|Apartado(?:\s+de\s+correos)?)\s+\d+)", re.IGNORECASE), 0.9),
    Rule("address_label", "ADDRESS", _c(r"(?i:\b(?:Domicilio|Direcci[oó]n|Dir\.|Address|Home address|Street))"
                                        r"[ \t]*:(?![ \t]*\[)[ \t]*(?P<phi>[^\n]*?[^\s.])"  # '[': already a placeholder
                                        rf"(?={_NOT_AN_END}\.[ \t]|[ \t]*[.;]?[ \t]*(?i:tel|tfno|e-?mail|m[oó]vil|fax|correo)\b|[ \t]*\.{{0,3}}[ \t]*$"
                                        # the next field's label: Unstructured joins a header's lines into one
                                        r"|,?[ \t]+[A-ZÁÉÍÓÚÑ][\wº/.]*(?:[ \t]+[\wº/.]+){0,2}[ \t]*:[ \t])"),
         0.9),
    # a labelled postal code in any country's format: "ZIP: 4943", "zip code is 75534-030", "394 13", "B0J 2H0"
    Rule("cp_label", "POSTAL_CODE", _c(r"(?i:\b(?:C\.\s?P\.|CP|C[óo]digo\s+postal|Postal\s+code|Post\s?code|"
                                       r"Zip(?:\s+code)?|Zipcode))(?:[ \t]+is|[ \t]*[:.#])?[ \t]*"
                                       # after a label, Latin-American forms too: "110151", "C1009AAB", "80 100"
                                       rf"(?P<phi>\d{{4}}[ \t][A-Z]{{2}}|{_POSTCODE}|\d{{6}}|[A-Z]\d{{4}}(?:[A-Z]{{3}})?|"
                                       r"\d{2}[ \t]\d{3}|\d{3})(?![\w-])"),
         0.95),
    # "Estonia 62488", "Sweden 567 26": the postal code that follows a country at the end of an address
    Rule("cp_after_country", "POSTAL_CODE", _c(rf"\b(?:{_COUNTRY})[ \t,]+(?P<phi>{_POSTCODE})(?![\w-])"), 0.8),
    Rule("cp_town", "POSTAL_CODE", _c(rf"(?<![\d.,/])(?P<phi>(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}})(?=[ \t,\-]+[{UP}][{LOW}]+)"),
         0.75),
    Rule("cp_after_town", "POSTAL_CODE", _c(rf"(?<=[{LOW}])[ \t]*[,(]?[ \t]*(?P<phi>(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}})"
                                            r"(?=\)|[ \t]*[,.]|[ \t]*$|[ \t]+(?i:tel|tfno|fax|e-?mail|correo)\b)"), 0.6),
    # a Spanish postal code that ends an address line before a contact, or glued to the town: "s/n. 28047. Madrid",
    # "84, 15006 e-mail:", "Zaragoza-50009", "E-31008 Pamplona"
    Rule("cp_before_contact", "POSTAL_CODE", _c(r"(?<![\d.,/])(?P<phi>(?:E-)?(?:0[1-9]|[1-4]\d|5[0-2])\d{3})(?![\d])"
                                                r"(?=[ \t]*[.,]?[ \t]*(?:(?i:e-?mail|correo|tel[ée]?f?|tlf|fax)\b|[\w.+\-]+@|\n|$))"),
         0.7),
    Rule("cp_glued", "POSTAL_CODE", _c(rf"(?:(?<=[{LOW}])-|\bE-)(?P<phi>(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}})\b"), 0.75),
    Rule("zip_us", "POSTAL_CODE", _c(r"\b[A-Z]{2}[ \t]+(?P<phi>\d{5}(?:-\d{4})?)\b"), 0.8),
    # a place that a phrase announces: "natural de Tomelloso", "vive en Narón", "grew up in Ryssby", "moved here from
    # Espoo", "flew to Leppen" (whatever the gazetteer knows)
    # above the gazetteer's 0.9, which Presidio would keep instead and then drop before a colon ("home city Voorburg:")
    Rule("place_cue", "LOCATION", _c(rf"{_PLACE_CUE}[ \t]+(?P<phi>{NAME})"), 0.95),
    # the same phrases before a place written in lower case ("lives in harburg", "returned to kiel.") or in Greek
    Rule("place_cue_plain", "LOCATION", _c(rf"{_PLACE_CUE}[ \t]+(?P<phi>[a-zß-ÿ][{LOW}'’\-]{{2,}}(?:[ \t]+[a-z](?=[ \t]*$))?|"
                                           rf"{_GREEK}(?:[ \t]+{_GREEK}){{0,3}})(?=[ \t]*(?:[.,;:!?)]|$|(?i:for|on|by|with|and)\b))"),
         0.9),
    # "in Acquapendente 1021", "from København K 1421", "in Quinta de São Tiago 3610-114": a place and its postal code
    # after a preposition, whatever the gazetteer knows (a month, a week or a year is no place and no code)
    Rule("place_before_cp", "LOCATION", _c(rf"(?i:\b(?:in|from|at|near|en|de|desde))[ \t]+(?P<phi>{_PLACE_WORDS})"
                                           rf"(?=[ \t]+{_CODE_AFTER}\b)"), 0.7),
    Rule("cp_after_place", "POSTAL_CODE", _c(rf"(?i:\b(?:in|from|at|near|en|de|desde))[ \t]+{_PLACE_WORDS}[ \t]+"
                                             rf"(?P<phi>{_CODE_AFTER})\b"), 0.7),
    Rule("town_after_cp", "LOCATION", _c(rf"\b(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}}[ \t,\-]+(?P<phi>{NAME})"), 0.75),
    Rule("location_label", "LOCATION", _c(rf"(?i:\b(?:{_LOCATION_LABELS})){_LABEL_END}(?P<phi>[^\n]*?[^\s.])"
                                          r"(?=\.[ \t]|[ \t]*[.;]?[ \t]*(?i:tel|tfno|e-?mail|m[oó]vil|fax|cp|c\.p\.)\b|"
                                          r"[ \t]*\.?[ \t]*$)"), 0.9),
    # --- ages over 89 (the number only, so "92 años" -> "90+ años") ---
    # "92 años", "92 anos", "92a", "92 a.", "92 y/o", "92yo", "92-year-old", "92 yrs", "92M", "92 F,": a number then
    # the way a note writes years (or the sex glued to it, as English notes do)
    Rule("age_over_89", "AGE_OVER_89", _c(r"(?<![\d.,/\-])\b(?P<phi>(?:9\d|1[0-2]\d))(?=[ \t\-]*(?:(?i:años|año|anos|a\.|"
                                          r"years?|yrs?\b|yr\b|yo\b|y/o|y\.o\.|-year|year-old|aa\b))|(?i:a|yo)\b|[MF]\b|[ \t][MF](?:[.,;:)]|"
                                          r"[ \t]+(?i:c/o|with|presents|complains|pt|patient)\b|$))"), 0.95),
    Rule("age_label", "AGE_OVER_89", _c(r"(?i:\b(?:Edad|Age|aged|de edad|edad de|age of))[ \t]*:?[ \t]*(?P<phi>9\d|1[0-2]\d)\b"
                                        r"(?![.,]\d)"), 0.95),
    # --- institutions (only when the policy removes them) ---
    # above spaCy's 0.85: Presidio drops a result that a same-type result with an equal or higher score contains, and
    # spaCy's "Servicio de Digestivo del Hospital Son Dureta" would otherwise replace the rule's exact span
    Rule("institution", "INSTITUTION", _c(rf"(?P<phi>\b{INSTITUTION})"), 0.9, refine=_not_an_adjective),
    # the maker after a product's registered mark: "(Travatan®, Alcon, Fort Worth)", "BioGide® (Geistlich, Suiza)"
    Rule("maker", "INSTITUTION", _c(rf"[®™][ \t]*[,;(][ \t]*(?P<phi>[{UP}][\w'’\-]*(?:[ \t]+(?:&|and|y|[{UP}][\w'’.\-]*))"
                                    r"{0,4})(?=[ \t]*[,;)]|[ \t]*-)"), 0.8),
]


_BLOCK_LINE = re.compile(
    rf"[ \t>?]*(?P<line>(?:Apt|Apartment|Suite|Ste|Unit)\.?[ \t]*#?\d+\w*"
    rf"|(?:(?:{_COUNTRY}),?[ \t]+)?{_POSTCODE}(?:[ \t]+[{UP}][\w'´.\-]*){{0,3}}"
    rf"|[{UP}][\w'´.\-]*(?:,?[ \t]+[{UP}\d][\w'´.\-]*){{0,3}}(?:,?[ \t]+nan)?(?:,?[ \t]+{_POSTCODE})?"
    # a region code or an empty field between the town and the postal code: ", CO", ", nan", "NO 9100",
    # "Knivsta, nan 18237"
    rf"|,?[ \t]*(?:[A-Z]{{2,3}}|nan)(?:[ \t]+{_POSTCODE})?)[ \t.,]*"
    # the line ends, or the sentence that the address sits in goes on in lower case ("... 18237 after the concert")
    r"(?=\n|$|[ \t]+[a-z]{2,})"
)
BLOCK_MAX_LINES = 4


def address_block_tail(text: str, end: int) -> list[tuple[int, int]]:
    """The lines that go on an address which ends a line: unit, town, region, "Country 12345" (at most four short
    lines, each only capitalised words and codes, no label). A multi-line postal address leaks its town otherwise."""
    out: list[tuple[int, int]] = []
    pos = end
    rest = text[pos:pos + 2]
    if not rest.lstrip(" \t.,").startswith("\n") and rest.strip(" \t.,"):
        return out
    pos = text.find("\n", pos)
    for _ in range(BLOCK_MAX_LINES):
        if pos < 0:
            break
        m = _BLOCK_LINE.match(text, pos + 1)
        if not m or len(m.group("line")) > 40:
            break
        if text[m.end():m.end() + 1] not in ("\n", "") and not any(ch.isdigit() for ch in m.group("line")):
            break  # a sentence goes on after it: only a line with its postal code ends an address there
        out.append(m.span("line"))
        pos = m.end()
    return out


def rule_spans(text: str, rule: Rule) -> list[tuple[int, int]]:
    """Spans of `rule` in `text` that pass its validator."""
    out: list[tuple[int, int]] = []
    for m in rule.pattern.finditer(text):
        start, end = (m.span("phi") if "phi" in rule.pattern.groupindex else m.span())
        if start < 0 or end <= start:
            continue
        if rule.validate is not None and not rule.validate(text[start:end]):
            continue
        if rule.refine is not None:
            refined = rule.refine(text, start, end)
            if refined is None:
                continue
            start, end = refined
        out.append((start, end))
    return out
