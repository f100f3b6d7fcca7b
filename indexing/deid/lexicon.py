"""Small word lists that keep NER honest on clinical text: words that are never names or places, countries
(kept: a country does not identify a patient), kinship words and common given names (which make a lone first name count)."""

from __future__ import annotations

import re
import unicodedata


def fold(word: str) -> str:
    """Lower case without accents."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Capitalised words that spaCy's small models tag as PER/LOC/ORG in clinical notes but are clinical or form text.
_NOT_NAMES = """
paciente pacientes varon mujer hombre nino nina sexo edad nombre apellidos apellido medico medica doctor doctora
remitido remitida informe clinico clinica historia actual antecedentes exploracion fisica evolucion comentarios
diagnostico diagnosticos tratamiento tratamientos pruebas complementarias resumen motivo ingreso alta servicio
especialidad episodio localidad provincia pais nacimiento domicilio fecha hemograma bioquimica analitica orina
atencion primaria urgencias unidad planta consulta consultas externas quirofano cirugia anestesia radiologia
traumatologia reumatologia rehabilitacion fisioterapia enfermeria medicina interna pediatria ginecologia urologia
cardiologia neurologia oncologia dermatologia oftalmologia psiquiatria hematologia nefrologia neumologia
digestivo endocrinologia ecografia resonancia radiografia tomografia gammagrafia densitometria electromiografia
tac rmn rx eco emg tc pet dexa ecg eeg uci uvi ap hta dm dl ldl hdl pcr vsg hb inr tsh psa ca cea afp ige igg igm
diabetes mellitus hipertension arterial dislipemia obesidad artrosis gonartrosis coxartrosis artritis tendinitis
tendinopatia bursitis fascitis epicondilitis condropatia condromalacia meniscopatia rotura lesion fractura esguince
dolor inflamacion derrame edema sinovitis lumbalgia cervicalgia gonalgia omalgia coxalgia talalgia ciatica
rodilla cadera hombro codo muneca tobillo pie mano columna lumbar cervical dorsal menisco ligamento tendon cartilago
manguito rotador supraespinoso infraespinoso subescapular rotuliano rotuliana aquileo plantar femur tibia perone
rotula humero radio cubito escafoides astragalo calcaneo sacro coxis pelvis acetabulo
plasma plaquetas plaquetario acido hialuronico corticoide corticoides infiltracion infiltraciones ozono celulas
madre mesenquimales factores crecimiento colageno ondas choque laser magnetoterapia electroterapia kinesiotaping
paracetamol ibuprofeno naproxeno diclofenaco dexketoprofeno metamizol tramadol tapentadol morfina fentanilo
omeprazol pantoprazol metformina insulina enalapril losartan amlodipino atorvastatina simvastatina sintrom
acenocumarol adiro aspirina clopidogrel heparina enoxaparina prednisona dexametasona triamcinolona betametasona
metilprednisolona lidocaina mepivacaina bupivacaina hialuronato condroitina glucosamina colchicina alopurinol
vitamina calcio magnesio hierro zinc vitaminas
normal normales negativo positivo derecho derecha izquierdo izquierda bilateral tipo grado estadio escala
mejoria empeoramiento control revision seguimiento semana semanas mes meses ano anos dia dias hora horas
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
lunes martes miercoles jueves viernes sabado domingo
se le la lo los las el en de del con sin por para tras ante bajo segun durante mediante
presenta refiere acude consulta realiza realizado realizada inicia iniciado pauta pautado indica indicado
no si ya tambien ademas posteriormente finalmente actualmente inicialmente
patient patients male female man woman boy girl sex age name surname physician doctor report clinical history
present past medical surgical family social examination physical assessment plan impression diagnosis treatment
follow up discharge admission emergency department unit clinic service specialty
pain knee hip shoulder elbow wrist ankle foot hand spine back neck tendon ligament meniscus cartilage
platelet rich plasma hyaluronic acid steroid injection injections stem cells shockwave therapy
left right bilateral normal negative positive type grade stage scale score
monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
dr dra sr sra drs dres anatomia patologica plastica carcinoma embrionario antigeno especifico prostatico
descenso quirurgica tecnica enfermedad sindrome signo test prueba
tel telf tfno telefono movil fax email correo web e-mail
trastorno personalidad hepatitis colitis ulcerosa herpes simple virus perfil nutricion patologia forense
anestesiologia gleason escherichia coli neisseria pylori jefe seccion terapia intensiva acetato secrecion
inadecuada presentamos macroscopia masa hospital microbiologia bacteria cultivo serologia
the a an of in on at to for with without by from and or but no yes
atentamente cordialmente saludo saludos estimado estimada estimados querido querida natural procedente vive reside
regards sincerely dear yours kind best wishes signed
un una uno unos unas individuo sujeto oral maxilofacial general farmacia toxicologia candida aspergillus
staphylococcus staphilococo streptococcus streptococo pseudomonas klebsiella enterococcus mycobacterium
factor unidades servicio departamento seccion
viene alergia alergias impresion guiado guiada date franca derivada derivado intervenida intervenido primera visita
injected tto routine fu denies new follow-up months review reviewed revisión revision seguimiento
aine aines nsaid nsaids allergic allergy allergies iodine yodo yodados contrast contraste penicillin penicilina latex
""".split()
# Drug and device brand names (capitalised like surnames; some are towns or given names somewhere) and generics that
# spaCy's small models tag as people, places or organisations: a treatment list that loses them loses what was done.
_DRUGS = """
humira xarelto celebrex lyrica durolane synvisc eliquis voltaren nolotil enantyum arcoxia zaldiar ostenil hyalone
orthovisc monovisc hyalgan suplasyn adant durogesic trigon kenalog celestone urbason dacortin prolia forsteo fosamax
neurontin palexia targin lantus eutirox zyloric ventolin seretide pradaxa lixiana clexane hibor efient plavix
enbrel remicade simponi cimzia stelara cosentyx taltz orencia actemra roactemra kineret olumiant xeljanz rinvoq
ozempic trulicity januvia jardiance forxiga dafiro spiriva symbicort nexium augmentin zitromax ciproxin
termalgin gelocatil dolalgial efferalgan dalsy espidifen ibuprox voltadol thrombocid feldene movalis inacid
artrotec condrosan cartexan viartril hyalur vitalvisc fermathron ostenil coxflam orudis airtal enantium
adalimumab etanercept infliximab rituximab tocilizumab secukinumab denosumab teriparatida teriparatide
levodopa carbidopa pregabalina pregabalin gabapentina gabapentin duloxetina duloxetine celecoxib etoricoxib
apixaban rivaroxaban dabigatran edoxaban warfarin methotrexate metotrexato hidroxicloroquina hydroxychloroquine
vancomicina vancomycin meropenem clindamicina clindamycin adriamicina mitomicina ciclofosfamida fludarabina
""".split()
_NOT_NAMES = _NOT_NAMES + _DRUGS
NOT_NAMES: frozenset[str] = frozenset(_NOT_NAMES)

KINSHIP = frozenset(fold(w) for w in """
padre madre padres hijo hija hijos hijas hermano hermana hermanos hermanas abuelo abuela abuelos nieto nieta tio tia
primo prima esposo esposa marido mujer pareja conyuge suegro suegra cunado cunada sobrino sobrina familia familiar
familiares tutor tutora
father mother parents son daughter children child brother sister siblings grandfather grandmother grandson
granddaughter uncle aunt cousin husband wife partner spouse family relative guardian
""".split())

COUNTRY_NAMES: tuple[str, ...] = (
    "España", "Espana", "Spain", "Francia", "France", "Portugal", "Italia", "Italy", "Alemania", "Germany",
    "Reino Unido", "United Kingdom", "UK", "Inglaterra", "England", "Irlanda", "Ireland", "Marruecos", "Morocco",
    "Argelia", "Algeria", "Rumanía", "Rumania", "Romania", "Bulgaria", "Polonia", "Poland", "Ucrania", "Ukraine",
    "Rusia", "Russia", "China", "Japón", "Japan", "India", "Pakistán", "Pakistan", "Estados Unidos", "EEUU", "EE.UU.",
    "USA", "United States", "US", "Canadá", "Canada", "México", "Mexico", "Cuba", "Colombia", "Venezuela", "Ecuador",
    "Perú", "Peru", "Bolivia", "Chile", "Argentina", "Uruguay", "Paraguay", "Brasil", "Brazil", "Honduras",
    "Nicaragua", "Guatemala", "El Salvador", "Costa Rica", "Panamá", "Panama", "República Dominicana",
    "Dominican Republic", "Puerto Rico", "Senegal", "Nigeria", "Ghana", "Mali", "Malí", "Guinea", "Guinea Ecuatorial",
    "Mauritania", "Egipto", "Egypt", "Túnez", "Tunisia", "Suiza", "Switzerland", "Bélgica", "Belgium", "Holanda",
    "Países Bajos", "Netherlands", "Suecia", "Sweden", "Noruega", "Norway", "Dinamarca", "Denmark", "Finlandia",
    "Finland", "Grecia", "Greece", "Turquía", "Turkey", "Israel", "Irán", "Iran", "Irak", "Iraq", "Siria", "Syria",
    "Filipinas", "Philippines", "Australia", "Sudáfrica", "South Africa", "Europa", "Europe", "África", "Africa",
    "América", "America", "Asia", "Latinoamérica", "Sudamérica", "Austria", "Hungría", "Hungary", "Georgia",
    "Armenia", "Nepal", "Bangladesh", "Vietnam", "Tailandia", "Thailand", "Corea", "Korea", "Indonesia",
    "Estonia", "Letonia", "Latvia", "Lituania", "Lithuania", "Eslovaquia", "Slovakia", "Eslovenia", "Slovenia",
    "Croacia", "Croatia", "Serbia", "República Checa", "Czech Republic", "Czechia", "Chequia", "Islandia", "Iceland",
    "Luxemburgo", "Luxembourg", "Liechtenstein", "Mónaco", "Monaco", "Andorra", "Malta", "Chipre", "Cyprus",
    "Nueva Zelanda", "New Zealand", "Singapur", "Singapore", "Malasia", "Malaysia", "Kenia", "Kenya", "Etiopía",
    "Ethiopia", "Bielorrusia", "Belarus", "Moldavia", "Moldova", "Albania", "Bosnia", "Montenegro", "Macedonia",
    "Kosovo", "Escocia", "Scotland", "Gales", "Wales", "Camerún", "Cameroon", "Angola", "Mozambique",
)
COUNTRIES = frozenset(fold(w) for w in COUNTRY_NAMES)

# Frequent given names in Spain and English-speaking countries: a lone capitalised word on this list is a name.
GIVEN_NAMES = frozenset(fold(w) for w in """
Antonio Manuel Jose Francisco David Juan Javier Daniel Carlos Jesus Alejandro Miguel Rafael Pedro Pablo Angel
Sergio Fernando Jorge Luis Alberto Alvaro Adrian Diego Raul Enrique Ramon Vicente Ivan Ruben Oscar Andres Joaquin
Santiago Eduardo Victor Roberto Jaime Mario Ignacio Alfonso Salvador Ricardo Marcos Jordi Emilio Julian Julio
Guillermo Gabriel Tomas Agustin Marc Mohamed Gonzalo Felix Hugo Ismael Cristian Samuel Aitor Josep Nicolas Martin
Lucas Mateo Leo Ernesto Esteban Gregorio Lorenzo Rodrigo Sebastian Benito Cesar Arturo Hector Eugenio Felipe
Maria Carmen Josefa Isabel Ana Laura Cristina Marta Dolores Lucia Pilar Elena Sara Paula Mercedes Raquel Rosario
Manuela Juana Teresa Beatriz Encarnacion Nuria Silvia Julia Irene Patricia Montserrat Rosa Andrea Rocio Monica
Alba Angela Sonia Alicia Sandra Susana Marina Yolanda Natalia Margarita Eva Inmaculada Claudia Esther Noelia
Veronica Carolina Ines Nerea Eva Amparo Concepcion Gloria Lorena Miriam Victoria Angeles Consuelo Soledad
Lourdes Asuncion Esperanza Emilia Sofia Valeria Martina Daniela Alejandra Clara Carla Blanca Aurora Begona Ainhoa
Leire Maite Milagros Remedios Trinidad Fatima Nieves Olga Virginia Lidia Vanesa Celia Adriana Jimena Candela
James John Robert Michael William Richard Joseph Thomas Charles Christopher Matthew Anthony Mark Donald Steven
Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric
Jonathan Stephen Larry Justin Scott Brandon Benjamin Frank Gregory Raymond Samuel Patrick Alexander Jack Dennis
Jerry Tyler Aaron Henry Peter Adam Nathan Zachary Douglas Harold Kyle Noah Ethan Liam Oliver
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra Ashley
Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia
Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra Rachel
Carolyn Janet Catherine Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan
Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice
Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella Theresa Diana Natalie
Brittany Charlotte Marie Kayla Alexis Lori
""".split())


def is_not_name_word(word: str) -> bool:
    """True for a word that is never a person's name in these notes."""
    return fold(word) in NOT_NAMES

# Provinces, regions and large towns of Spain and capitals of Spanish-speaking countries: a lone capitalised word on
# this list is a place even outside an address.
PLACES = frozenset(fold(w) for w in """
Álava Araba Albacete Alicante Alacant Almería Asturias Oviedo Ávila Badajoz Barcelona Bizkaia Vizcaya Bilbao Burgos
Cáceres Cádiz Cantabria Santander Castellón Ciudad_Real Córdoba Coruña Cuenca Girona Gerona Granada Guadalajara
Gipuzkoa Guipúzcoa Huelva Huesca Baleares Mallorca Menorca Ibiza Palma Jaén León Lleida Lérida Rioja Logroño Lugo
Madrid Málaga Murcia Navarra Pamplona Ourense Orense Palencia Palmas Pontevedra Vigo Salamanca Tenerife Segovia
Sevilla Soria Tarragona Teruel Toledo Valencia Valladolid Zamora Zaragoza Ceuta Melilla Getafe Móstoles Alcalá
Leganés Fuenlabrada Alcorcón Badalona Terrassa Sabadell Hospitalet Gijón Elche Cartagena Jerez Marbella Vitoria
Donostia Ferrol Santiago Compostela Úbeda Baracaldo Barakaldo Alcobendas Majadahonda Pozuelo Torrejón Ejido
Extremadura Andalucía Cataluña Catalunya Galicia Aragón Canarias Euskadi Castilla Mancha
Bogotá Lima Quito Caracas Santiago Montevideo Asunción Habana Holguín Managua Tegucigalpa Heredia Medellín Cali
Guayaquil Rosario Mendoza Monterrey Guadalajara Puebla Tijuana Boston Chicago Houston Miami Seattle Denver Phoenix
Dallas Atlanta Philadelphia London Londres Paris París Lisboa Lisbon Roma Rome Berlín Berlin
""".replace("_", " ").split())


# Eponyms of diseases, signs, tests, fractures and scales in these clinics' notes. A span made only of these words is
# clinical content, not a person or a place: always for the first list (rarely anyone's name in a note), and for the
# second only when the clinical context says so ("fractura de Smith", "Thomas test", "Bell's palsy").
EPONYMS_ALWAYS = frozenset(fold(w) for w in """
parkinson parkinsons alzheimer alzheimers osgood schlatter hoffa kellgren lequesne womac koos achilles aquiles
crohn hodgkin dupuytren quervain perthes legg calve calvé kienbock kienböck sinding bankart billroth bosniak
hounsfield leyden leiden gleason breslow apgar karnofsky windlass
segond stener colles monteggia lisfranc chopart maisonneuve tillaux baastrup forestier scheuermann
bechterew sjogren sjögren raynaud wegener behcet behçet kawasaki guillain barre barré trendelenburg lasegue lasègue
babinski romberg apley lachman mcmurray hawkins neer jobe yergason tinel phalen finkelstein mulder gerdy
hashimoto addison cushing paget charcot sudeck haglund freiberg kohler köhler baker ehlers danlos
marfan heberden bouchard ortolani galeazzi thessaly steinmann cozen lhermitte spurling
""".split())
EPONYMS_IN_CONTEXT = frozenset(fold(w) for w in """
smith jones thomas bell still speed weber barton bennett rolando patrick graves down ober ely homans mill mills
murphy gaenslen fabere faber noble thompson simmonds hoover waddell schober wright roos hill sachs larsen
sever blount barlow adson allen blake durie salmon stevens johnson jonson marsh fisher child pugh ann arbor clark
glasgow
""".split())
_EPONYM_HEADS = (
    r"enfermedad|s[íi]ndrome|signo|test|prueba|maniobra|fractura|quiste|lesi[óo]n|tumor|linfoma|escala|clasificaci[óo]n|"
    r"[íi]ndice|criterio|criterios|grado|tipo|nódulo|nódulos|n[óo]dulos|par[áa]lisis|disease|syndrome|sign|manoeuvre|"
    r"maneuver|fracture|cyst|lesion|palsy|lymphoma|scale|score|classification|index|criteria|grade|type|nodes|nodules|"
    r"procedure|operation|technique|t[ée]cnica|procedimiento|operaci[óo]n"
)
_EPONYM_BEFORE = re.compile(rf"(?i:\b(?:{_EPONYM_HEADS})[ \t]+(?:de[ \t]+|of[ \t]+)?(?:la[ \t]+)?)$")
_EPONYM_AFTER = re.compile(rf"(?i:^(?:['’]s?)?[ \t]*(?:[-–][ \t]*\w+[ \t]+)?(?:{_EPONYM_HEADS})\b)")


def is_eponym(text: str, start: int, end: int) -> bool:
    """True when text[start:end] names a disease, sign, test or fracture ("Baker", "Osgood-Schlatter",
    "Parkinson's disease", "fractura de Smith") rather than a person or a place."""
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", text[start:end])]
    words = [w for w in words if w not in ("s", "de", "la", "of", "the")]
    if not words or not all(w in EPONYMS_ALWAYS or w in EPONYMS_IN_CONTEXT for w in words):
        return False
    if all(w in EPONYMS_ALWAYS for w in words):
        return True
    return bool(_EPONYM_BEFORE.search(text[max(0, start - 40):start]) or _EPONYM_AFTER.search(text[end:end + 40]))
