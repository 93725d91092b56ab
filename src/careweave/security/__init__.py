"""Users, roles, legitimate relationships, the hash-chained audit log, pseudonyms."""
