"""One router per area; ``ALL`` is what the app includes."""

from careweave.api.routers import admin, auth, care, people, referrals

ALL = (auth.router, people.router, care.router, referrals.router, admin.router)
