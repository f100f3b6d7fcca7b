"""Fake but realistic identifying data (names, DNI/NIE, phones, addresses) and the record of where it was written."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

from synth.model import Language, PhiItem, PhiKind, Sex

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

ES_FEMALE = (
    "María",
    "Carmen",
    "Ana",
    "Isabel",
    "Laura",
    "Marta",
    "Pilar",
    "Lucía",
    "Elena",
    "Cristina",
    "Rosa",
    "Teresa",
    "Dolores",
    "Mercedes",
    "Raquel",
    "Beatriz",
    "Sonia",
    "Nuria",
    "Inmaculada",
    "Rocío",
    "Begoña",
    "Montserrat",
    "Consuelo",
    "Encarnación",
    "Patricia",
    "Silvia",
    "Ángela",
    "Julia",
    "Alicia",
    "Irene",
    "María José",
    "María Ángeles",
    "Ana Belén",
    "Mª Carmen",
    "Concepción",
    "Remedios",
    "Amparo",
    "Noelia",
)
ES_MALE = (
    "José",
    "Antonio",
    "Manuel",
    "Francisco",
    "Juan",
    "David",
    "Javier",
    "Daniel",
    "Carlos",
    "Miguel",
    "Rafael",
    "Pedro",
    "Ángel",
    "Alejandro",
    "Fernando",
    "Pablo",
    "Luis",
    "Sergio",
    "Jorge",
    "Alberto",
    "Ramón",
    "Andrés",
    "Enrique",
    "Joaquín",
    "Vicente",
    "Emilio",
    "Gonzalo",
    "Íñigo",
    "Tomás",
    "Agustín",
    "José Luis",
    "Juan Carlos",
    "Jesús",
    "Rubén",
    "Óscar",
    "Marcos",
    "Ignacio",
    "Julián",
)
ES_SURNAMES = (
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Ramírez",
    "Serrano",
    "Blanco",
    "Molina",
    "Morales",
    "Suárez",
    "Ortega",
    "Delgado",
    "Castro",
    "Ortiz",
    "Rubio",
    "Marín",
    "Sanz",
    "Núñez",
    "Iglesias",
    "Medina",
    "Garrido",
    "Cortés",
    "Castillo",
    "Santos",
    "Lozano",
    "Guerrero",
    "Cano",
    "Prieto",
    "Méndez",
    "Cruz",
    "Calvo",
    "Gallego",
    "Vidal",
    "León",
    "Márquez",
    "Herrera",
    "Peña",
    "Cabrera",
    "Campos",
    "Vega",
    "Fuentes",
    "Carrasco",
    "Diez",
    "Caballero",
    "Reyes",
    "Nieto",
    "Aguilar",
    "Pascual",
    "Santana",
    "Herrero",
    "Montero",
    "Lorenzo",
    "Hidalgo",
    "Giménez",
    "Ibáñez",
    "Ferrer",
    "Durán",
    "Sáez",
    "Mora",
    "Vicente",
    "Arias",
    "Carmona",
    "Crespo",
    "Román",
    "Pastor",
    "Soto",
    "Sáiz",
    "Velasco",
    "Moya",
    "Soler",
    "Parra",
    "Esteban",
    "Bravo",
    "Gallardo",
    "Rojas",
    "Zamora",
    "Echeverría",
    "Ochoa",
    "Villanueva",
    "Salinas",
    "Peñalver",
    "Urquijo",
)
EN_FEMALE = (
    "Sarah",
    "Emma",
    "Olivia",
    "Charlotte",
    "Emily",
    "Jessica",
    "Hannah",
    "Rachel",
    "Laura",
    "Megan",
    "Susan",
    "Margaret",
    "Linda",
    "Patricia",
    "Helen",
    "Karen",
    "Deborah",
    "Jennifer",
    "Claire",
    "Fiona",
    "Gillian",
    "Alison",
    "Catherine",
    "Rebecca",
    "Nicola",
    "Joanne",
    "Barbara",
    "Elizabeth",
    "Amanda",
)
EN_MALE = (
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Thomas",
    "Christopher",
    "Daniel",
    "Matthew",
    "Andrew",
    "Mark",
    "Paul",
    "Steven",
    "Kevin",
    "Brian",
    "George",
    "Edward",
    "Peter",
    "Ian",
    "Graham",
    "Neil",
    "Stuart",
    "Gary",
    "Simon",
    "Alan",
    "Patrick",
    "Anthony",
)
EN_SURNAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Hall",
    "Allen",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Foster",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "O'Brien",
    "McCarthy",
    "Fletcher",
    "Whitaker",
    "Ashworth",
    "Holloway",
    "Pemberton",
    "Fairbanks",
)

ES_STREETS = (
    "C/ Mayor",
    "Calle Alcalá",
    "C/ de la Princesa",
    "Calle Goya",
    "C/ Serrano",
    "Avda. de América",
    "Calle del Pilar",
    "C/ San Bernardo",
    "Calle Bravo Murillo",
    "Avenida de Europa",
    "Paseo de la Castellana",
    "C/ Real",
    "Plaza de la Constitución",
    "Calle de los Olivos",
    "C/ Doctor Esquerdo",
    "Avda. de Portugal",
    "Calle Toledo",
    "C/ Ríos Rosas",
    "Calle Fuencarral",
    "Paseo de Extremadura",
    "C/ Arturo Soria",
    "Calle Cea Bermúdez",
    "Avda. Reina Victoria",
    "C/ López de Hoyos",
    "Calle Camino Viejo",
    "Ronda de Segovia",
    "C/ Santa Engracia",
    "Calle Hermosilla",
    "Avda. de los Poblados",
    "C/ Las Huertas",
)
ES_TOWNS = (
    ("28001", "Madrid"),
    ("28013", "Madrid"),
    ("28039", "Madrid"),
    ("28045", "Madrid"),
    ("28100", "Alcobendas"),
    ("28901", "Getafe"),
    ("28223", "Pozuelo de Alarcón"),
    ("28231", "Las Rozas"),
    ("28220", "Majadahonda"),
    ("28801", "Alcalá de Henares"),
    ("28911", "Leganés"),
    ("45001", "Toledo"),
    ("19001", "Guadalajara"),
    ("40001", "Segovia"),
    ("28931", "Móstoles"),
    ("28660", "Boadilla del Monte"),
    ("28760", "Tres Cantos"),
    ("28700", "San Sebastián de los Reyes"),
    ("28400", "Collado Villalba"),
    ("28850", "Torrejón de Ardoz"),
)
EN_STREETS = (
    "Maple Avenue",
    "Oak Street",
    "Elm Road",
    "High Street",
    "Church Lane",
    "Station Road",
    "Park Avenue",
    "Victoria Road",
    "Cedar Drive",
    "Mill Lane",
    "King's Road",
    "Willow Close",
)
EN_TOWNS = (
    ("Springfield, IL", "62704"),
    ("Portland, OR", "97205"),
    ("Austin, TX", "78701"),
    ("Madison, WI", "53703"),
    ("Boulder, CO", "80302"),
    ("Raleigh, NC", "27601"),
)
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.es", "outlook.com", "telefonica.net", "icloud.com", "hotmail.es")


@dataclass(frozen=True)
class Doctor:
    """A member of the clinic's staff, with the forms in which notes name them."""

    full: str
    short: str
    language: Language


DOCTORS: tuple[Doctor, ...] = (
    Doctor("Dra. Lucía Fernández Ortega", "Dra. Fernández", "es"),
    Doctor("Dr. Javier Morales Rincón", "Dr. Morales", "es"),
    Doctor("Dra. Carmen Ruiz Solís", "Dra. Ruiz", "es"),
    Doctor("Dr. Andrés Villalba Gómez", "Dr. Villalba", "es"),
    Doctor("Dra. Elena Castillo Marín", "Dra. Castillo", "es"),
    Doctor("Dr. Michael Turner", "Dr. Turner", "en"),
    Doctor("Dra. Sarah Whitfield", "Dra. Whitfield", "en"),
)


@dataclass
class Identity:
    """The identifying facts of one patient (each rendered form is recorded where it is written)."""

    given: str
    surname1: str
    surname2: str | None
    national_id: str
    national_id_kind: str
    phone: str
    phone2: str | None
    email: str | None
    address: str
    relative: str | None
    relative_role_es: str | None
    relative_role_en: str | None
    doctor: Doctor

    @property
    def surnames(self) -> str:
        """Both surnames (Spanish) or the one surname (English)."""
        return f"{self.surname1} {self.surname2}" if self.surname2 else self.surname1

    @property
    def full_name(self) -> str:
        """Given name then surnames."""
        return f"{self.given} {self.surnames}"

    @property
    def table_name(self) -> str:
        """The 'SURNAMES, Given' form hospital systems print."""
        return f"{self.surnames.upper()}, {self.given}"


@dataclass
class PhiRecorder:
    """Collects every identifying string exactly as written, so leak tests know what to look for."""

    items: list[PhiItem] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def use(self, kind: PhiKind, text: str) -> str:
        """Record ``text`` as PHI of ``kind`` and return it unchanged, for use inside templates."""
        key = (kind, text)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(PhiItem(kind=kind, text=text))
        return text


def dni_letter(number: int) -> str:
    """Return the check letter of a Spanish DNI number."""
    return DNI_LETTERS[number % 23]


def make_dni(rng: random.Random) -> str:
    """Return a DNI with a valid check letter, e.g. '50123456Z'."""
    number = rng.randint(1_000_000, 79_999_999)
    return f"{number:08d}{dni_letter(number)}"


def make_nie(rng: random.Random) -> str:
    """Return an NIE (foreigner's id) with a valid check letter, e.g. 'X1234567L'."""
    prefix = rng.choice("XYZ")
    number = rng.randint(0, 9_999_999)
    return f"{prefix}{number:07d}{dni_letter(int(str('XYZ'.index(prefix)) + f'{number:07d}'))}"


def make_ssn_like(rng: random.Random) -> str:
    """Return a US-SSN-shaped id (area 900-999 never issued, so not a real person's number)."""
    return f"{rng.randint(900, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _spanish_mobile(rng: random.Random) -> str:
    digits = f"6{rng.randint(0, 99_999_999):08d}"
    return rng.choice(
        (
            f"+34 {digits[:3]} {digits[3:6]} {digits[6:]}",
            f"{digits[:3]} {digits[3:6]} {digits[6:]}",
            f"{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}",
        )
    )


def _madrid_landline(rng: random.Random) -> str:
    digits = f"91{rng.randint(0, 9_999_999):07d}"
    return f"{digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}"


def _us_phone(rng: random.Random) -> str:
    return f"(555) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def make_identity(rng: random.Random, sex: Sex, language: Language) -> Identity:
    """Draw a full identity for one patient."""
    if language == "es":
        given = rng.choice(ES_FEMALE if sex == "F" else ES_MALE)
        s1, s2 = rng.sample(ES_SURNAMES, 2)
        surname2: str | None = s2
        national_id, kind = (make_dni(rng), "dni") if rng.random() < 0.93 else (make_nie(rng), "nie")
        phone = _spanish_mobile(rng)
        phone2 = _madrid_landline(rng) if rng.random() < 0.3 else None
        number = rng.randint(1, 140)
        extra = rng.choice(
            (
                "",
                f", {rng.randint(1, 9)}º {rng.choice('ABCDI')}",
                f", {rng.randint(1, 6)}º dcha",
                f", bajo {rng.choice('AB')}",
            )
        )
        postal, town = rng.choice(ES_TOWNS)
        address = f"{rng.choice(ES_STREETS)} {number}{extra}, {postal} {town}"
        relative_role = rng.choice(("hija", "hijo", "esposa" if sex == "M" else "marido", "hermana", "nuera"))
        relative_given = rng.choice(ES_MALE if relative_role in ("hijo", "marido") else ES_FEMALE)
        relative_role_en = {
            "hija": "daughter",
            "hijo": "son",
            "esposa": "wife",
            "marido": "husband",
            "hermana": "sister",
            "nuera": "daughter-in-law",
        }[relative_role]
        relative_name = f"{relative_given} {rng.choice(ES_SURNAMES)}"
    else:
        given = rng.choice(EN_FEMALE if sex == "F" else EN_MALE)
        s1 = rng.choice(EN_SURNAMES)
        surname2 = None
        national_id, kind = (make_nie(rng), "nie") if rng.random() < 0.65 else (make_ssn_like(rng), "ssn")
        phone = _us_phone(rng) if rng.random() < 0.5 else _spanish_mobile(rng)
        phone2 = _us_phone(rng) if rng.random() < 0.15 else None
        if rng.random() < 0.6:
            postal, town = rng.choice(ES_TOWNS)
            address = f"{rng.choice(ES_STREETS)} {rng.randint(1, 140)}, {postal} {town}"
        else:
            town, postal = rng.choice(EN_TOWNS)
            address = f"{rng.randint(10, 2999)} {rng.choice(EN_STREETS)}, {town} {postal}"
        relative_role_en = rng.choice(("daughter", "son", "wife" if sex == "M" else "husband", "partner"))
        relative_role = {"daughter": "hija", "son": "hijo", "wife": "esposa", "husband": "marido", "partner": "pareja"}[
            relative_role_en
        ]
        pool = (
            EN_MALE
            if relative_role_en in ("son", "husband")
            else EN_FEMALE
            if relative_role_en in ("daughter", "wife")
            else EN_FEMALE + EN_MALE
        )
        relative_name = f"{rng.choice(pool)} {s1 if rng.random() < 0.6 else rng.choice(EN_SURNAMES)}"
    email = None
    if rng.random() < 0.7:
        local = rng.choice(
            (f"{given.split()[0]}.{s1}", f"{given.split()[0][0]}{s1}{rng.randint(1, 99)}", f"{s1}{rng.randint(50, 99)}")
        )
        email = f"{_ascii(local).lower().replace(' ', '').replace(chr(39), '')}@{rng.choice(EMAIL_DOMAINS)}"
    doctors = [d for d in DOCTORS if d.language == language or rng.random() < 0.3]
    has_relative = rng.random() < 0.35
    return Identity(
        given=given,
        surname1=s1,
        surname2=surname2,
        national_id=national_id,
        national_id_kind=kind,
        phone=phone,
        phone2=phone2,
        email=email,
        address=address,
        relative=relative_name if has_relative else None,
        relative_role_es=relative_role if has_relative else None,
        relative_role_en=relative_role_en if has_relative else None,
        doctor=rng.choice(doctors),
    )
