"""Clinical codes the generator writes: real SNOMED CT, ICD-10 and LOINC codes.

Register diagnosis codes come from the register definitions
(careweave/dataset/data/registers.csv). SNOMED CT ids are International
Edition concept ids; ICD-10 codes are WHO ICD-10 (UK 5th edition style, with
``X`` filler for three-character codes); LOINC codes carry their check digit.
Medicines are written as SNOMED CT substance concepts (the dm+d release is
licensed and not shipped here; a dm+d VMP id can replace them one for one).
"""

from __future__ import annotations

#: Chronic condition -> ICD-10 code written as a secondary diagnosis.
CHRONIC_ICD10: dict[str, str] = {
    "hypertension": "I10X",
    "depression": "F32.9",
    "obesity": "E66.9",
    "diabetes": "E11.9",
    "asthma": "J45.9",
    "ckd": "N18.3",
    "cancer": "C80.9",
    "chd": "I25.9",
    "atrial_fibrillation": "I48.9",
    "copd": "J44.9",
    "stroke_tia": "I69.4",
    "heart_failure": "I50.9",
    "smi": "F20.9",
    "epilepsy": "G40.9",
    "rheumatoid_arthritis": "M06.9",
    "dementia": "F03X",
    "pad": "I73.9",
    "learning_disability": "F79.9",
}

#: Condition -> ICD-10 primary diagnoses of an emergency admission it causes.
ACUTE_ICD10: dict[str, tuple[str, ...]] = {
    "diabetes": ("E11.6", "E10.1", "E16.2", "L03.1"),
    "asthma": ("J45.9", "J46X"),
    "ckd": ("N17.9", "E87.1"),
    "cancer": ("C34.9", "C18.9", "C50.9", "C61X", "R18X"),
    "chd": ("I21.9", "I20.0", "R07.4"),
    "atrial_fibrillation": ("I48.9",),
    "copd": ("J44.1", "J44.0", "J18.9"),
    "stroke_tia": ("I63.9", "G45.9", "I61.9"),
    "heart_failure": ("I50.0", "I50.9"),
    "smi": ("F20.9", "F31.9"),
    "epilepsy": ("G40.9", "R56.8"),
    "rheumatoid_arthritis": ("M06.9",),
    "dementia": ("F05.1", "N39.0", "R29.6", "S72.0"),
    "pad": ("I70.2", "L97X"),
    "learning_disability": ("J69.0", "G40.9"),
}

#: Generic emergency primary diagnoses by age group (child, adult, older).
GENERIC_ICD10: dict[str, tuple[str, ...]] = {
    "child": ("J06.9", "J21.9", "A09.9", "R50.9", "S06.0", "R10.4", "J18.9", "R56.0"),
    "adult": (
        "R07.4",
        "R10.4",
        "K35.8",
        "L03.1",
        "N39.0",
        "J18.9",
        "S52.5",
        "R55X",
        "K80.0",
        "S06.0",
        "T39.1",
        "A09.9",
    ),
    "older": (
        "J18.9",
        "N39.0",
        "R55X",
        "S72.0",
        "R07.4",
        "A41.9",
        "N17.9",
        "L03.1",
        "E86X",
        "R41.0",
        "K59.0",
        "R26.8",
    ),
}

#: ICD-10 codes that count in the Hospital Frailty Risk Score (Gilbert et al.,
#: Lancet 2018), written as secondary diagnoses of frail older people, with a
#: relative frequency.
HFRS_ICD10: tuple[tuple[str, float], ...] = (
    ("F05.9", 1.0),
    ("W19.9", 2.0),
    ("R26.8", 1.5),
    ("R29.6", 2.0),
    ("N39.0", 2.0),
    ("N39.4", 0.8),
    ("L89.9", 0.6),
    ("Z74.0", 1.0),
    ("Z75.1", 0.5),
    ("Z60.2", 1.0),
    ("R41.0", 1.0),
    ("E86X", 1.2),
    ("E87.1", 0.8),
    ("R54X", 0.7),
    ("M81.9", 0.8),
    ("H54.9", 0.4),
    ("H91.9", 0.5),
    ("R32X", 0.6),
    ("Z99.3", 0.3),
    ("Z91.8", 0.6),
    ("S00.9", 0.6),
    ("D64.9", 0.8),
    ("K59.0", 0.8),
    ("R33X", 0.4),
)

#: Elective primary diagnoses (non-cancer) and the specialty that admits them.
ELECTIVE_ICD10: tuple[tuple[str, str], ...] = (
    ("H25.9", "Ophthalmology"),
    ("M17.9", "Trauma and Orthopaedics"),
    ("M16.9", "Trauma and Orthopaedics"),
    ("K40.9", "General Surgery"),
    ("K80.2", "General Surgery"),
    ("N40X", "Urology"),
    ("K57.3", "Gastroenterology"),
    ("D25.9", "Gynaecology"),
    ("I83.9", "Vascular Surgery"),
)

#: Medicines per condition: (SNOMED CT substance id, term, probability a case
#: is on it, quantity per issue). Repeat issues every 84 days.
MEDICINES: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "hypertension": (
        ("386864001", "Amlodipine", 0.55, 84),
        ("386872004", "Ramipril", 0.45, 84),
    ),
    "diabetes": (
        ("372567009", "Metformin", 0.8, 168),
        ("67866001", "Insulin", 0.2, 5),
    ),
    "chd": (
        ("387458008", "Aspirin", 0.6, 84),
        ("373444002", "Atorvastatin", 0.8, 84),
    ),
    "stroke_tia": (
        ("386952008", "Clopidogrel", 0.7, 84),
        ("373444002", "Atorvastatin", 0.8, 84),
    ),
    "pad": (("386952008", "Clopidogrel", 0.6, 84),),
    "atrial_fibrillation": (
        ("698090000", "Apixaban", 0.7, 168),
        ("386868003", "Bisoprolol", 0.5, 84),
    ),
    "heart_failure": (
        ("387475002", "Furosemide", 0.8, 84),
        ("386868003", "Bisoprolol", 0.6, 84),
        ("386872004", "Ramipril", 0.6, 84),
    ),
    "copd": (("372897005", "Salbutamol", 0.9, 1),),
    "asthma": (("372897005", "Salbutamol", 0.8, 1),),
    "depression": (("372594008", "Sertraline", 0.45, 84),),
    "smi": (("386849001", "Olanzapine", 0.6, 84),),
    "epilepsy": (("387000003", "Levetiracetam", 0.6, 168),),
    "rheumatoid_arthritis": (("387381009", "Methotrexate", 0.6, 48),),
    "ckd": (("386872004", "Ramipril", 0.4, 84),),
}
#: Acute courses: (SNOMED CT substance id, term, quantity).
ACUTE_MEDICINES: tuple[tuple[str, str, float], ...] = (
    ("372687004", "Amoxicillin", 21),
    ("387517004", "Paracetamol", 100),
    ("387137007", "Omeprazole", 28),
    ("116601002", "Prednisolone", 30),
)
MORPHINE = ("373529000", "Morphine", 60.0)

#: Observations: measure -> (LOINC code, term, UCUM unit).
OBSERVATIONS: dict[str, tuple[str, str, str]] = {
    "systolic_bp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "hba1c": ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    "weight": ("29463-7", "Body weight", "kg"),
    "egfr": (
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted (MDRD)",
        "mL/min/{1.73_m2}",
    ),
}

#: CKD stage codes (SNOMED CT) and their share among stage 3-5 cases.
CKD_STAGES: tuple[tuple[str, str, float], ...] = (
    ("433144002", "Chronic kidney disease stage 3", 0.86),
    ("431857002", "Chronic kidney disease stage 4", 0.11),
    ("433146000", "Chronic kidney disease stage 5", 0.03),
)

#: Register code -> term (for the ``term`` column).
TERMS: dict[str, str] = {
    "38341003": "Hypertensive disorder",
    "59621000": "Essential hypertension",
    "1201005": "Benign essential hypertension",
    "35489007": "Depressive disorder",
    "370143000": "Major depressive disorder",
    "414916001": "Obesity",
    "162864005": "Body mass index 30+ - obesity",
    "408512008": "Body mass index 40+ - severely obese",
    "44054006": "Diabetes mellitus type 2",
    "46635009": "Diabetes mellitus type 1",
    "73211009": "Diabetes mellitus",
    "195967001": "Asthma",
    "433144002": "Chronic kidney disease stage 3",
    "431857002": "Chronic kidney disease stage 4",
    "433146000": "Chronic kidney disease stage 5",
    "363346000": "Malignant neoplastic disease",
    "254837009": "Malignant neoplasm of breast",
    "363406005": "Malignant neoplasm of colon",
    "399068003": "Malignant tumor of prostate",
    "93880001": "Primary malignant neoplasm of lung",
    "53741008": "Coronary arteriosclerosis",
    "22298006": "Myocardial infarction",
    "194828000": "Angina",
    "49436004": "Atrial fibrillation",
    "13645005": "Chronic obstructive lung disease",
    "230690007": "Cerebrovascular accident",
    "266257000": "Transient ischemic attack",
    "84114007": "Heart failure",
    "58214004": "Schizophrenia",
    "13746004": "Bipolar disorder",
    "69322001": "Psychotic disorder",
    "84757009": "Epilepsy",
    "69896004": "Rheumatoid arthritis",
    "52448006": "Dementia",
    "26929004": "Alzheimer's disease",
    "399957001": "Peripheral arterial occlusive disease",
    "840580004": "Peripheral arterial disease",
    "110359009": "Intellectual disability",
    "103735009": "Palliative care",
}

#: Specialty an outpatient appointment for a condition goes to.
CONDITION_SPECIALTY: dict[str, str] = {
    "diabetes": "Diabetic Medicine",
    "asthma": "Respiratory Medicine",
    "copd": "Respiratory Medicine",
    "ckd": "Nephrology",
    "cancer": "Clinical Oncology",
    "chd": "Cardiology",
    "atrial_fibrillation": "Cardiology",
    "heart_failure": "Cardiology",
    "stroke_tia": "Stroke Medicine",
    "epilepsy": "Neurology",
    "rheumatoid_arthritis": "Rheumatology",
    "dementia": "Old Age Psychiatry",
    "pad": "Vascular Surgery",
    "hypertension": "General Internal Medicine",
}
GENERAL_OUTPATIENT = (
    "Trauma and Orthopaedics",
    "Ophthalmology",
    "Dermatology",
    "General Surgery",
    "ENT",
    "Gynaecology",
    "Urology",
    "Gastroenterology",
    "Cardiology",
    "General Internal Medicine",
)
