"""Identity of the synthetic people: names, titles, addresses, telephones,
preferred language and interpreter need.

Part of :mod:`careweave.synth.params`. Drawn from a random stream of their own
(seed, chunk), so adding or changing them changes no other column. Every
value is made up: names from cohort lists and Faker's en_GB provider, towns and
streets from Faker (invented places), postcodes only well formed, and
telephone numbers only in Ofcom's ranges reserved for drama (never
allocated to anyone).
"""

from __future__ import annotations

#: Birth-year cohorts (first year of each; the last runs on) for given names.
COHORT_STARTS = (0, 1940, 1960, 1980, 2000)
#: Share of given names from the cohort's list (the rest from Faker's en_GB pool,
#: which has no age).
COHORT_NAME_SHARE = 0.75
#: Popular given names by birth cohort. ONS, Baby names in England and Wales
#: (top 100 by decade 1904-1994, yearly since 1996) and the Welsh lists, rounded
#: to 20 a cohort.
FEMALE_NAMES: tuple[tuple[str, ...], ...] = (
    ("Margaret", "Mary", "Joan", "Dorothy", "Doris", "Joyce", "Betty", "Irene", "Elsie", "Jean",
     "Eileen", "Kathleen", "Edna", "Gladys", "Winifred", "Phyllis", "Hilda", "Ivy", "Marjorie",
     "Gwen"),
    ("Susan", "Linda", "Christine", "Margaret", "Janet", "Patricia", "Carol", "Elizabeth",
     "Mary", "Anne", "Jennifer", "Barbara", "Valerie", "Pauline", "Sandra", "Brenda", "Gillian",
     "Janice", "Jacqueline", "Maureen"),
    ("Sarah", "Claire", "Nicola", "Emma", "Lisa", "Joanne", "Michelle", "Helen", "Samantha",
     "Karen", "Amanda", "Rachel", "Louise", "Julie", "Tracey", "Kelly", "Dawn", "Deborah",
     "Alison", "Angharad"),
    ("Rebecca", "Laura", "Jessica", "Hannah", "Amy", "Lauren", "Sophie", "Charlotte", "Emily",
     "Gemma", "Stacey", "Natalie", "Katie", "Danielle", "Chloe", "Jade", "Sian", "Bethan",
     "Ffion", "Rhiannon"),
    ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Lily", "Freya", "Ella", "Evie",
     "Poppy", "Sophia", "Isabella", "Ruby", "Seren", "Alys", "Ivy", "Willow", "Florence",
     "Cerys"),
)  # fmt: skip
MALE_NAMES: tuple[tuple[str, ...], ...] = (
    ("John", "William", "George", "Thomas", "James", "Arthur", "Frederick", "Albert", "Charles",
     "Robert", "Kenneth", "Ronald", "Stanley", "Leslie", "Harold", "Dennis", "Ernest", "Walter",
     "Alfred", "Emrys"),
    ("David", "John", "Michael", "Peter", "Robert", "Stephen", "Paul", "Alan", "Brian",
     "Christopher", "Anthony", "Keith", "Richard", "Graham", "Colin", "Terence", "Barry",
     "Roger", "Geoffrey", "Gareth"),
    ("Mark", "Paul", "Andrew", "David", "Richard", "Christopher", "Ian", "Darren", "Gareth",
     "Neil", "Simon", "Stuart", "Lee", "Wayne", "Jason", "Craig", "Martin", "Steven",
     "Jonathan", "Matthew"),
    ("Daniel", "Thomas", "James", "Matthew", "Christopher", "Ryan", "Luke", "Adam", "Jack",
     "Joshua", "Michael", "Liam", "Jamie", "Dafydd", "Rhys", "Aaron", "Callum", "Lewis", "Owen",
     "Kieran"),
    ("Oliver", "Noah", "George", "Harry", "Jack", "Leo", "Arthur", "Oscar", "Charlie", "Jacob",
     "Alfie", "Freddie", "Theo", "Archie", "Muhammad", "Osian", "Tomos", "Elis", "Henry",
     "Thomas"),
)  # fmt: skip
#: The commonest surnames in Wales (ONS/Welsh Government surname studies), drawn
#: for WELSH_SURNAME_SHARE of people; the rest from Faker's en_GB list.
WELSH_SURNAMES = (
    "Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan",
    "Griffiths", "Edwards", "Owen", "Price", "Rees", "Jenkins", "Phillips", "Morris", "James",
    "Powell", "Lloyd",
)  # fmt: skip
WELSH_SURNAME_SHARE = 0.35

#: Titles of adults (16+): men (Mr, Dr, Rev); women under 30 and 30+ (Miss, Ms,
#: Mrs, Dr). Children have none recorded. PDS title usage, rounded.
ADULT_AGE = 16
MALE_TITLES = (("Mr", 0.975), ("Dr", 0.02), ("Rev", 0.005))
FEMALE_TITLES_YOUNG = (("Miss", 0.55), ("Ms", 0.35), ("Mrs", 0.08), ("Dr", 0.02))
FEMALE_TITLES_OLDER = (("Mrs", 0.6), ("Ms", 0.25), ("Miss", 0.13), ("Dr", 0.02))

#: Towns and streets drawn once per seed from Faker en_GB (invented names).
TOWNS = 240
STREETS = 2000
#: Neighbouring small areas share a town.
AREAS_PER_TOWN = 6
#: Share with a second address line (a flat or a named house's district).
SECOND_LINE_SHARE = 0.3
#: Postcode areas of Wales for the synthetic postcodes (format only).
POSTCODE_AREAS = ("CF", "SA", "NP", "LL", "LD", "SY")
#: Letters a postcode's inward unit may use (Royal Mail: not C, I, K, M, O, V).
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

#: Ofcom numbers reserved for TV and radio drama (never allocated): mobile
#: 07700 900000-900999, geographic 01632 960000-960999.
MOBILE_PREFIX = "07700 900"
LANDLINE_PREFIX = "01632 960"
#: Share with a telephone recorded, and mobile share by age (Ofcom Adults' media
#: use 2023: most older people keep a landline).
TELEPHONE_SHARE = 0.93
MOBILE_SHARE_UNDER_65 = 0.9
MOBILE_SHARE_65_PLUS = 0.55

#: Preferred language by broad ethnic group (white, asian, black, mixed, other,
#: unknown): Welsh for a small share (Census 2021 Wales: 17.8% speak Welsh,
#: fewer ask for care in it), otherwise English or one of a few languages
#: (Census 2021 main language). (language, share) beyond English.
WELSH_SHARE = 0.04
OTHER_LANGUAGES: tuple[tuple[tuple[str, float], ...], ...] = (
    (("pl", 0.015), ("ro", 0.008), ("pt", 0.004)),
    (("ur", 0.06), ("pa", 0.04), ("bn", 0.04), ("gu", 0.02), ("ta", 0.015)),
    (("so", 0.04), ("ar", 0.02), ("fr", 0.02), ("pt", 0.01)),
    (("ar", 0.01),),
    (("ar", 0.08), ("ku", 0.03), ("fa", 0.03), ("zh", 0.03)),
    (),
)
#: Share of people with a language other than English or Welsh who need an
#: interpreter (Census 2021: 1.5% of residents cannot speak English well or at
#: all), and of everyone else (British Sign Language users, ~0.1%).
INTERPRETER_SHARE_OTHER_LANGUAGE = 0.35
INTERPRETER_SHARE_OTHERS = 0.001
#: Share of people whose preferred language is not recorded.
LANGUAGE_UNRECORDED_SHARE = 0.05
